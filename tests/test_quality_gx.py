"""The Great Expectations checkpoint over the published CSConv set."""

import pandas as pd

from csc.quality.published import check_csconv


def frames(**bad):
    dialogues = pd.DataFrame({
        "csconv_id": ["a", "b"], "language": ["zh", "en"], "n_utterances": [12, 10],
        "strategy_use": [1.0, 0.9], "alternates": [True, True],
        "has_required_strategies": [True, True], "counts_match": [True, True]})
    utterances = pd.DataFrame({
        "csconv_id": ["a", "a", "b"], "utt_index": [0, 1, 0],
        "speaker": ["supporter", "customer", "supporter"], "strategy_id": [1, None, 11],
        "strategy_label": ["策略1 礼貌问候", None, "Appreciation & Closure"],
        "stage": ["connecting", None, "maintaining"], "text": ["您好", "你好", "Bye"]})
    for table, column, values in bad.values():
        (dialogues if table == "d" else utterances)[column] = values
    return dialogues, utterances


def test_a_clean_set_passes_every_expectation():
    result = check_csconv(*frames())
    assert result.success and len(result.results) == 15 and not result.failures


def test_broken_invariants_are_named():
    result = check_csconv(*frames(
        alt=("d", "alternates", [True, False]),
        size=("d", "n_utterances", [12, 60]),
        label=("u", "strategy_label", ["策略6+策略7", None, "x"]),
        sid=("u", "strategy_id", [None, None, 11]),
    ))
    assert not result.success
    failed = {(f["table"], f["expectation"], f["column"]) for f in result.failures}
    assert ("csconv_dialogues", "expect_column_values_to_be_in_set", "alternates") in failed
    assert ("csconv_dialogues", "expect_column_values_to_be_between", "n_utterances") in failed
    assert ("csconv_utterances", "expect_column_values_to_not_match_regex",
            "strategy_label") in failed
    assert ("csconv_utterances", "expect_column_values_to_not_be_null", "strategy_id") in failed
    assert "failed for 1 rows" in result.describe_failures()
