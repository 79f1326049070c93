"""Character n-gram overlap, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from csc.metrics.overlap import containment, jaccard, ngrams


def test_ngrams_are_a_normalised_set():
    assert ngrams("银行卡被锁") == {"银行", "行卡", "卡被", "被锁"}
    # lower-cased, whitespace runs become one space, repeats count once
    assert ngrams("Ab  ab") == {"ab", "b ", " a"}
    assert ngrams("abc", 3) == {"abc"} and ngrams("ab", 3) == frozenset()
    # pieces (turns) never share an n-gram across their boundary
    assert ngrams(["ab", "cd"]) == {"ab", "cd"} and "bc" not in ngrams(["ab", "cd"])
    with pytest.raises(ValueError):
        ngrams("x", 0)


def test_containment_by_hand():
    # G("银行卡被锁") = {银行, 行卡, 卡被, 被锁}; G("我的银行卡") = {我的, 的银, 银行, 行卡}
    # shared {银行, 行卡}: 2 of 4 in either direction
    assert containment("银行卡被锁", "我的银行卡") == pytest.approx(2 / 4)
    assert containment("银行卡", "我的银行卡被锁了") == 1.0  # a verbatim quote
    # G("abcd") = {ab, bc, cd}; G("xbcd") = {xb, bc, cd}: 2 of 3
    assert containment("abcd", "xbcd") == pytest.approx(2 / 3)
    assert containment("abc", "xyz") == 0.0
    # whole as separate turns: "bc" only exists if the two turns were glued together
    assert containment("abcd", ["ab", "cd"]) == pytest.approx(2 / 3)
    assert containment("", "abc") == 0.0 and containment("a", "abc") == 0.0
    assert containment(["abcd", "ef"], "xx abcd ef") == 1.0


def test_jaccard_by_hand():
    # {银行, 行卡, 卡被, 被锁} vs {我的, 的银, 银行, 行卡}: 2 shared of 6 distinct
    assert jaccard("银行卡被锁", "我的银行卡") == pytest.approx(2 / 6)
    # {ab, bc, cd} vs {xb, bc, cd}: 2 shared of 4 distinct
    assert jaccard("abcd", "xbcd") == pytest.approx(2 / 4)
    assert jaccard("abc", "ABC") == 1.0 and jaccard("abc", "") == 0.0
    # trigrams: {abc, bcd} vs {xbc, bcd}: 1 of 3
    assert jaccard("abcd", "xbcd", 3) == pytest.approx(1 / 3)
