"""The Great Expectations checkpoint over the published CSConv set."""

import pandas as pd

from csc.csconv.annotate import agreement_rows
from csc.quality.published import check_csconv
from schemas.published import csconv_dialogues, csconv_utterances


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
    # 16 = 9 expectations in schemas/published.py csconv_utterances (the 9th: no unmasked
    # PII) + 7 in csconv_dialogues
    assert len(csconv_utterances()) == 9 and len(csconv_dialogues(10, 50)) == 7
    assert result.success and len(result.results) == 16 and not result.failures


def test_label_agreement_has_one_overall_row_and_one_row_per_strategy():
    # 13 rows in marts.label_agreement_latest = 1 'overall' + 12 'strategy' rows (one per
    # strategy 1-12, written even for strategies neither annotator used: n = 0)
    rows = agreement_rows([(1, 1), (6, 7), (11, 11)])
    assert len(rows) == 13
    assert [r["scope"] for r in rows] == ["overall"] + ["strategy"] * 12
    assert [r["strategy_id"] for r in rows] == [None, *range(1, 13)]
    assert rows[0]["n"] == 3 and rows[0]["accuracy"] == 2 / 3
    by_id = {r["strategy_id"]: r for r in rows[1:]}
    assert (by_id[6]["n"], by_id[6]["accuracy"]) == (1, 0.0)  # used by one side only
    assert (by_id[2]["n"], by_id[2]["accuracy"]) == (0, None)  # used by neither


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
