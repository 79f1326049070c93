"""Han and Latin counts behind language routing, checked by hand."""

import polars as pl
import pytest

from csc.language import detect, han_and_latin


@pytest.mark.parametrize(("text", "han", "latin"), [
    ("你好，世界！", 4, 0),                  # full-width punctuation is not Han
    ("订单ABC123已发货", 5, 3),
    ("𠀀𠀁 ok", 2, 2),                       # CJK Extension B: four UTF-8 bytes each
    ("ひらがなカタカナ", 0, 0),               # kana are not Han
    ("", 0, 0),
    ("   \n\t", 0, 0),
    ("中", 1, 0),                            # one character, no other run around it
    ("a中b文c", 2, 3),
])
def test_counts(text: str, han: int, latin: int) -> None:
    h, la = han_and_latin(pl.col("t"))
    assert pl.DataFrame({"t": [text]}).select(h.alias("h"), la.alias("l")).row(0) == (han, latin)


def test_a_missing_text_counts_nothing() -> None:
    h, la = han_and_latin(pl.col("t"))
    assert pl.DataFrame({"t": [None]}, schema={"t": pl.String}).select(
        h.alias("h"), la.alias("l")).row(0) == (None, None)


@pytest.mark.parametrize(("text", "lang"), [
    ("我想退货 please", "zh"),     # 4 Han of 10 letters: 0.4 >= 0.2
    ("I want a refund 退", "en"),  # 1 of 13: below 0.2
    ("ab中", "zh"),                # 1 of 3
    ("abcd中", "zh"),              # 1 of 5: exactly 0.2
    ("abcde中", "en"),             # 1 of 6
])
def test_detect_at_the_share(text: str, lang: str) -> None:
    assert detect(text) == lang
