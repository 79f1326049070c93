"""Han and Latin counts behind language routing, checked by hand."""

import random

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
    # bytes >= 2 x characters counts what is not Han; below, it counts Han
    ("中a", 1, 1),                           # 4 bytes, 2 characters: exactly at the switch
    ("éé中", 1, 0),                          # 7 bytes, 3 characters
    ("ééa", 0, 1),                           # 5 bytes, 3 characters
    ("中ab", 1, 2),                          # 5 bytes, 3 characters
    ("😀中😀", 1, 0),                        # emoji: four bytes, not Han
    ("〇々〆", 2, 0),                        # 〇 and 々 are Han, 〆 is not
    ("ＡＢＣ中", 1, 0),                      # full-width letters are not ASCII letters
])
def test_counts(text: str, han: int, latin: int) -> None:
    h, la = han_and_latin(pl.Series([text], dtype=pl.String))
    assert (h[0], la[0]) == (han, latin)


def test_a_missing_text_counts_nothing() -> None:
    h, la = han_and_latin(pl.Series([None, "ab"], dtype=pl.String))
    assert h.to_list() == [None, 0] and la.to_list() == [None, 2]


def test_rows_keep_their_order_across_the_two_ways_of_counting() -> None:
    texts = ["中文中文", "abc", "中文x", "x", "中", "abcdef中"]
    h, la = han_and_latin(pl.Series(texts))
    assert h.to_list() == [4, 0, 2, 0, 1, 1]
    assert la.to_list() == [0, 3, 1, 1, 0, 6]


def test_random_texts_count_as_one_regex_per_class_does() -> None:
    """Against the plain definition (one regex match per character), on texts mixing every
    width of UTF-8 character in every proportion."""
    alphabet = list("abcXYZ 1.,\n") + list("éñß") + list("中文字，。「」ひら") + ["𠀀", "😀", "\u200b"]
    rng = random.Random(11)
    texts = ["".join(rng.choices(alphabet, weights=[rng.random() for _ in alphabet],
                                 k=rng.randrange(0, 40))) for _ in range(3000)]
    h, la = han_and_latin(pl.Series(texts))
    ref = pl.DataFrame({"t": texts}).select(pl.col("t").str.count_matches(r"\p{Han}"),
                                            pl.col("t").str.count_matches("[A-Za-z]").alias("l"))
    assert h.to_list() == ref["t"].to_list()
    assert la.to_list() == ref["l"].to_list()


@pytest.mark.parametrize(("text", "lang"), [
    ("我想退货 please", "zh"),     # 4 Han of 10 letters: 0.4 >= 0.2
    ("I want a refund 退", "en"),  # 1 of 13: below 0.2
    ("ab中", "zh"),                # 1 of 3
    ("abcd中", "zh"),              # 1 of 5: exactly 0.2
    ("abcde中", "en"),             # 1 of 6
])
def test_detect_at_the_share(text: str, lang: str) -> None:
    assert detect(text) == lang
