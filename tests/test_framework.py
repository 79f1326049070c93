import pytest

from csc.framework import (
    BY_ID,
    STRATEGIES,
    Stage,
    label_zh,
    normalise_label,
    usual_stage,
)


def test_twelve_strategies_five_stages():
    assert [s.id for s in STRATEGIES] == list(range(1, 13))
    assert len(Stage) == 5
    assert {s.stage for s in STRATEGIES if s.id != 12} == set(Stage)
    assert usual_stage(12) is None
    assert usual_stage(1) is Stage.CONNECTING and usual_stage(11) is Stage.MAINTAINING
    assert all(s.definition and s.zh and s.abbr for s in STRATEGIES)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("策略1: 礼貌问候", 1), ("策略1 礼貌问候", 1), ("策略1：礼貌问候", 1), ("礼貌问候", 1),
        ("Greeting", 1), ("GT", 1), ("gt", 1), ("1", 1), ("策略2 确认身份", 2),
        ("Identity Verification", 2), ("IV", 2), ("Restatement or Paraphrasing", 3),
        ("Problem Refinement (PR)", 4), ("策略5 情感管理", 5), ("Providing Suggestions", 6),
        ("信息传达", 7), ("Resolution Implementation", 8), ("FR", 9), ("关系延续", 10),
        ("Appreciation & Closure", 11), ("感谢与告别", 11), ("策略12 其它", 12), ("Others", 12),
        ("  策略 7 信息传达 ", 7), ("Strategy 8", 8), ("策略１１ 感谢与告别", 11),
    ],
)
def test_every_label_form_maps_to_one_id(label, expected):
    result = normalise_label(label)
    assert result.ok, result.error
    assert result.id == expected


@pytest.mark.parametrize("label", ["策略6+策略7", "PS+ID", "策略6＋策略7", "提供建议+信息传达"])
def test_multi_strategy_labels_are_detected(label):
    result = normalise_label(label)
    assert result.multi and not result.ok
    assert result.ids == (6, 7)


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("", "empty"), (None, "empty"), ("策略13", "outside 1-12"), ("banana", "unknown"),
        ("策略3 礼貌问候", "contradicts"), ("策略6+banana", "bad part"),
    ],
)
def test_unmappable_labels_are_rejected_with_a_reason(label, reason):
    result = normalise_label(label)
    assert not result.ok and result.id is None
    assert reason in result.error


def test_released_label_form_round_trips():
    for s in STRATEGIES:
        assert label_zh(s.id) == f"策略{s.id} {s.zh}"
        assert normalise_label(label_zh(s.id)).id == s.id
        assert normalise_label(BY_ID[s.id].name).id == s.id
