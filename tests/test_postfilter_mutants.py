"""Kills the csc.csconv.postfilter mutants the boundary tests left alive (issue 9).

Expected values are written by hand from csc-method §3.5 and the messages the post-filter
documents; docs/testing.md lists the survivors that are equivalent.
"""

import pytest

from csc.csconv.postfilter import PostfilterConfig, apply_rules
from csc.errors import ConfigError
from schemas.llm import RewrittenTurn

SUP, CUS = "客服", "客户"
MIN_ENV, MAX_ENV = "CSC_CSCONV_MIN_UTTERANCES", "CSC_CSCONV_MAX_UTTERANCES"


def T(speaker: str, text: str, strategy: str = "") -> RewrittenTurn:
    return RewrittenTurn(speaker=speaker, strategy=strategy, text=text)


def ten(sup_labels: list[str], first_speaker: str = SUP) -> list[RewrittenTurn]:
    """Ten alternating utterances, supporter first, the five supporter labels given."""
    assert len(sup_labels) == 5
    turns = []
    for i in range(10):
        if i % 2 == 0:
            turns.append(T(first_speaker, f"客服第{i}句", sup_labels[i // 2]))
        else:
            turns.append(T(CUS, f"客户第{i}句"))
    return turns


GOOD = ["策略1 礼貌问候", "策略2 确认身份", "策略12 其它", "策略6 提供建议", "策略11 感谢与告别"]


def test_clean_turns_keep_label_id_and_usual_phase():
    out = apply_rules(ten(GOOD))
    assert out.passed, out.reason
    first, customer, others = out.turns[0], out.turns[1], out.turns[4]
    assert (first.speaker, first.text, first.strategy_label, first.strategy_id, first.phase) == \
        ("supporter", "客服第0句", "策略1 礼貌问候", 1, "connecting")
    # customer turns carry no strategy: no label (None, not ""), no id, no stage
    assert (customer.speaker, customer.strategy_label, customer.strategy_id, customer.phase) == \
        ("customer", None, None, None)
    # Others (12) has no usual stage
    assert (others.strategy_label, others.strategy_id, others.phase) == ("策略12 其它", 12, None)
    assert out.turns[6].phase == "exploring" and out.turns[8].phase == "maintaining"


def test_a_supporter_turn_without_label_is_an_empty_label():
    labels = list(GOOD)
    labels[2] = ""
    out = apply_rules(ten(labels))
    assert (out.step, out.reason) == ("strategy_label", "turn 4: empty label")


def test_unknown_speaker_is_quoted_to_twenty_characters():
    turns = ten(GOOD)
    # RewrittenTurn refuses the name itself (the gateway re-asks); apply_rules still guards
    # against a turn built without validation
    turns[3] = RewrittenTurn.model_construct(speaker="abcdefghijklmnopqrstuvwxyz", strategy="",
                                             text="?")
    out = apply_rules(turns)
    assert (out.step, out.reason) == ("speaker", "turn 3: unknown speaker 'abcdefghijklmnopqrst'")


def test_missing_required_strategies_are_named_in_order():
    out = apply_rules(ten(["策略6 提供建议", "策略7 信息传达", "策略6 提供建议", "策略7 信息传达",
                           "策略12 其它"]))
    assert (out.step, out.reason) == (
        "required_strategies", "missing Greeting, Identity Verification, Appreciation & Closure")
    out = apply_rules(ten(["策略1 礼貌问候", "策略7 信息传达", "策略6 提供建议", "策略7 信息传达",
                           "策略12 其它"]))
    assert out.reason == "missing Identity Verification, Appreciation & Closure"


def test_from_env_without_variables_gives_the_methods_bounds(monkeypatch):
    monkeypatch.delenv(MIN_ENV, raising=False)
    monkeypatch.delenv(MAX_ENV, raising=False)
    assert PostfilterConfig.from_env() == PostfilterConfig(10, 50)
    monkeypatch.setenv(MIN_ENV, "  ")
    monkeypatch.setenv(MAX_ENV, "")
    assert PostfilterConfig.from_env() == PostfilterConfig(10, 50)


def test_from_env_reads_each_bound(monkeypatch):
    monkeypatch.setenv(MIN_ENV, " 7 ")
    monkeypatch.delenv(MAX_ENV, raising=False)
    assert PostfilterConfig.from_env() == PostfilterConfig(7, 50)
    monkeypatch.delenv(MIN_ENV)
    monkeypatch.setenv(MAX_ENV, "45")
    assert PostfilterConfig.from_env() == PostfilterConfig(10, 45)


def test_from_env_equal_bounds_are_allowed(monkeypatch):
    monkeypatch.setenv(MIN_ENV, "20")
    monkeypatch.setenv(MAX_ENV, "20")
    assert PostfilterConfig.from_env() == PostfilterConfig(20, 20)


def test_from_env_min_above_max_is_refused_with_its_message(monkeypatch):
    monkeypatch.setenv(MIN_ENV, "21")
    monkeypatch.setenv(MAX_ENV, "20")
    with pytest.raises(ConfigError) as err:
        PostfilterConfig.from_env()
    assert str(err.value) == ("CSC_CSCONV_MIN_UTTERANCES=21 must be <= "
                              "CSC_CSCONV_MAX_UTTERANCES, which is 20")


def test_from_env_refuses_a_non_number(monkeypatch):
    monkeypatch.setenv(MIN_ENV, "ten")
    with pytest.raises(ConfigError) as err:
        PostfilterConfig.from_env()
    assert str(err.value) == "CSC_CSCONV_MIN_UTTERANCES=ten must be a whole number >= 0"
