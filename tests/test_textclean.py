"""csc.textclean: each class of invisible or control character, for both the string and the
polars version (issue 10 A5). Expected strings are written by hand from the rules in the
module docstring."""

import polars as pl
import pytest

from csc.pii import mask_text
from csc.textclean import clean, clean_expr

CASES = [
    # ANSI: colour codes (CSI), a window title (OSC, ended by BEL or ESC \), ESC x
    ("\x1b[1;31mred\x1b[0m text", "red text"),
    ("\x1b[2Kline", "line"),
    ("a\x1b]0;title\x07b", "ab"),
    ("a\x1b]8;;http://x\x1b\\b", "ab"),
    ("a\x1bMb", "ab"),
    # line breaks: one style, \n
    ("a\r\nb", "a\nb"),
    ("a\rb", "a\nb"),
    ("a\x0bb\x0cc", "a\nb\nc"),
    ("a\u2028b\u2029c", "a\nb\nc"),
    ("a\x85b", "a\nb"),
    ("a\nb", "a\nb"),
    # a tab is one space
    ("a\tb", "a b"),
    # other C0, DEL and C1 controls go
    ("a\x00b\x07c\x1fd\x7fe", "abcde"),
    ("a\x80b\x9bc\x9fd", "abcd"),
    # zero-width characters go
    ("a\u200bb\u200cc\u2060d\ufeffe", "abcde"),
    # bidi controls go
    ("a\u202eb\u202ac\u2066d\u2069e\u200ef\u200fg\u061ch", "abcdefgh"),
    # ZWJ: kept inside an emoji sequence, removed elsewhere
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
    ("👍🏽\u200d🔥", "👍🏽\u200d🔥"),  # after a skin tone
    ("a\u200db", "ab"),
    ("👍\u200db", "👍b"),
    ("a\u200d👍", "a👍"),
    ("👍\u200d", "👍"),
    # nothing but invisibles: empty
    ("\x00\u200b\u202e\ufeff\u200d", ""),
    # ordinary text is untouched
    ("你好，我的卡被锁了。", "你好，我的卡被锁了。"),
    ("Hello, café 😀 ok", "Hello, café 😀 ok"),
    ("  spaces stay  ", "  spaces stay  "),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_clean(raw, expected):
    assert clean(raw) == expected


def test_clean_expr_does_the_same_row_by_row_and_keeps_nulls():
    raws = [raw for raw, _ in CASES] + [None]
    out = pl.DataFrame({"t": raws}, schema={"t": pl.String}).select(clean_expr(pl.col("t")))
    assert out["t"].to_list() == [expected for _, expected in CASES] + [None]


def test_clean_expr_on_a_frame_with_nothing_to_clean():
    df = pl.DataFrame({"t": ["你好", "hi"]})
    assert df.select(clean_expr(pl.col("t")))["t"].to_list() == ["你好", "hi"]


def test_a_phone_split_by_zero_width_characters_is_one_placeholder():
    split = "电话138\u200b1234\u200d5678\ufeff"
    assert clean(split) == "电话13812345678"
    assert mask_text(clean(split), "zh") == "电话[手机号码]"
    assert mask_text(split, "zh") == "电话[手机号码]"  # masking alone is not fooled either


def test_a_phone_split_by_colour_codes_is_masked():
    assert mask_text("tel \x1b[1m138\x1b[0m12345678", "en") == "tel [PHONE]"
