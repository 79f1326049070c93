"""Kills the csc.textclean mutants test_textclean.py left alive (docs/testing.md).

Expected values follow the module docstring: `needs_cleaning_expr` is True exactly where one
of the cleaning rules would change the text; "\\n" is kept by every rule, so it does not count.
"""

import polars as pl

from csc.textclean import clean, needs_cleaning_expr

ROWS = [
    ("你好，我的卡被锁了。", False),
    ("line one\nline two", False),  # \n is kept as it is
    ("", False),
    ("a\tb", True),  # a tab becomes a space
    ("a\r\nb", True),
    ("138\u200b1234", True),  # zero-width space
    ("\x1b[31mred", True),  # colour code
    ("a\u202eb", True),  # bidi override
    ("a\x00b", True),
    (None, None),  # null stays null
]


def test_needs_cleaning_marks_exactly_the_rows_a_rule_changes():
    df = pl.DataFrame({"t": [t for t, _ in ROWS]}, schema={"t": pl.String})
    out = df.select(needs_cleaning_expr(pl.col("t")))["t"].to_list()
    assert out == [flag for _, flag in ROWS]
    # and it agrees with `clean` on every non-null row
    for text, flag in ROWS:
        if text is not None:
            assert (clean(text) != text) == flag, repr(text)
