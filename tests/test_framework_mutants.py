"""Kills csc.framework mutants of the rewritten label normaliser (docs/testing.md).

Expected values are read off csc-method.md §2 (strategies 1-12) and the docstrings of
`normalise_label` / `LabelResult`, not copied from output.
"""

import pytest

from csc.framework import normalise_label


@pytest.mark.parametrize("label", [
    "策略二三",  # two digits side by side are no Chinese numeral
    "策略十十",  # 十 twice
    "策略十十一",
    "策略十二三",  # 十二 followed by 三: no numeral one to twelve
])
def test_malformed_chinese_numerals_name_no_strategy(label):
    result = normalise_label(label)
    assert result.ids == () and not result.ok and result.error is not None


def test_chinese_twenty_is_read_as_twenty_and_refused():
    result = normalise_label("策略二十")
    assert result.kind == "out_of_range"
    assert result.error == "strategy number 20 is outside 1-12"


@pytest.mark.parametrize(("label", "shown"), [("N/A", "N/A"), ('"N/A"', "N/A"), ("None", "None")])
def test_no_strategy_words_are_unknown_with_their_own_message(label, shown):
    result = normalise_label(label)
    assert result.error == f"no strategy named: '{shown}'"
    assert result.error_kind == "unknown"


def test_quotes_around_each_part_of_a_multi_label_are_dropped():
    assert normalise_label('"PS" and "ID"').ids == (6, 7)


def test_a_label_of_quotes_and_spaces_only_is_empty():
    result = normalise_label('" " "')
    assert (result.error, result.error_kind) == ("empty label", "empty")


def test_an_empty_part_between_two_strategies_is_a_bad_part():
    result = normalise_label('策略6+""+策略7')
    assert result.kind == "bad_part"
    assert result.error == "multi-strategy label with a bad part: empty label"


def test_a_name_with_a_joining_word_can_come_first_in_a_multi_label():
    # 'Appreciation & Closure' is strategy 11 as a whole; 'Appreciation' alone is none.
    assert normalise_label("Appreciation & Closure and PS").ids == (11, 6)


@pytest.mark.parametrize("label", ["banana and apple", "和策略6"])
def test_one_part_or_no_good_part_is_not_a_multi_label(label):
    # several parts none of which names a strategy, or a single part: plain unknown
    assert normalise_label(label).kind == "unknown"
