"""The CSConv post-filter rules (csc-method §3.5) and the label normaliser (§2) at their
boundaries. Expected outcomes follow the method: (c) 10-50 utterances inclusive, (f) strict
speaker alternation from the first pair on, no empty turn, (d) no multi-strategy turn.
"""

import itertools

import pytest

from csc.csconv.postfilter import PostfilterConfig, apply_rules
from csc.framework import STRATEGIES, normalise_label
from schemas.llm import RewrittenTurn

SUP, CUS = "客服", "客户"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def T(speaker: str, text: str, strategy: str = "") -> RewrittenTurn:
    return RewrittenTurn(speaker=speaker, strategy=strategy, text=text)


def dialogue(n: int) -> list[RewrittenTurn]:
    """A clean, strictly alternating rewrite of exactly n utterances (n >= 5), supporter
    first: Greeting, Identity Verification, Problem Refinement as often as needed, then
    Appreciation & Closure; for an even n the customer has the last word."""
    sup_labels = ["策略1 礼貌问候", "策略2 确认身份"]
    n_sup = (n + 1) // 2
    sup_labels += ["策略4 细化问题"] * (n_sup - 3) + ["策略11 感谢与告别"]
    turns = []
    for i in range(n):
        if i % 2 == 0:
            turns.append(T(SUP, f"客服第{i}句", sup_labels[i // 2]))
        else:
            turns.append(T(CUS, f"客户第{i}句"))
    assert len(turns) == n
    return turns


def test_defaults_are_the_methods_bounds():
    assert (PostfilterConfig().min_utterances, PostfilterConfig().max_utterances) == (10, 50)


@pytest.mark.parametrize("n", [10, 11, 49, 50])
def test_lengths_inside_the_bounds_are_kept(n):
    out = apply_rules(dialogue(n))
    assert out.passed, out.reason
    assert len(out.turns) == n


@pytest.mark.parametrize("n", [9, 51])
def test_one_outside_the_bounds_is_dropped_for_length(n):
    out = apply_rules(dialogue(n))
    assert (out.step, out.reason) == ("length", f"{n} utterances, outside 10-50")
    # the same dialogue passes when the bounds include it: length is the only problem
    assert apply_rules(dialogue(n), PostfilterConfig(9, 51)).passed


def test_bounds_are_inclusive_under_a_custom_config():
    cfg = PostfilterConfig(min_utterances=12, max_utterances=14)
    assert [apply_rules(dialogue(n), cfg).step for n in (11, 12, 14, 15)] == \
        ["length", None, None, "length"]


def test_length_is_counted_after_trailing_system_notes_are_trimmed():
    # 51 utterances, the last a system note: (a) trims it, leaving exactly 50 (kept)
    out = apply_rules([*dialogue(50), T(SUP, "（系统提示：客户已离开会话）")])
    assert out.passed and out.trimmed == 1 and len(out.turns) == 50


def test_the_first_pair_must_alternate_supporter_supporter():
    # supporter, supporter, customer, supporter, customer, ...: only turns 0 and 1 clash
    turns = [T(SUP, "您好", "策略1 礼貌问候"), T(SUP, "请提供手机号", "策略2 确认身份"),
             T(CUS, "好的"), *dialogue(12)[4:]]
    speakers = [t.speaker for t in turns]
    assert speakers[:3] == [SUP, SUP, CUS]
    assert all(a != b for a, b in itertools.pairwise(speakers[1:]))  # rest alternates
    out = apply_rules(turns)
    assert (out.step, out.reason) == ("alternation", "turns 0 and 1 are both supporter")


def test_the_first_pair_must_alternate_customer_customer():
    turns = [T(CUS, "你好"), *dialogue(11)]  # customer, then the supporter-first dialogue
    turns = [T(CUS, "在吗"), *turns]  # customer, customer, supporter, customer, ...
    out = apply_rules(turns)
    assert (out.step, out.reason) == ("alternation", "turns 0 and 1 are both customer")


def test_the_last_pair_must_alternate_too():
    turns = [*dialogue(11), T(SUP, "再见", "策略11 感谢与告别")]  # ... supporter, supporter
    out = apply_rules(turns)
    assert (out.step, out.reason) == ("alternation", "turns 10 and 11 are both supporter")


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
@pytest.mark.parametrize("who", [1, 4])  # a customer turn, a supporter turn
def test_an_empty_turn_drops_the_dialogue(blank, who):
    turns = dialogue(12)
    turns[who] = T(turns[who].speaker, blank, turns[who].strategy)
    out = apply_rules(turns)
    assert (out.step, out.reason) == ("empty_turn", "a turn has no text")
    assert not out.passed


def test_a_same_strategy_written_twice_with_plus_is_still_multi_strategy():
    # §3.5 (d): a turn whose label joins strategies with '+' drops the dialogue; the published
    # set must never hold a '+' label (its GX suite checks that), even '策略6+策略6'
    turns = dialogue(12)
    turns[4] = T(SUP, "建议您重置密码", "策略6+策略6")
    out = apply_rules(turns)
    assert out.step == "multi_strategy"


# -- the label normaliser -------------------------------------------------------------------

@pytest.mark.parametrize("n", range(1, 13))
def test_every_number_form_from_1_to_12_is_accepted(n):
    zh = STRATEGIES[n - 1].zh
    for label in (str(n), f"策略{n}", f"策略{n} {zh}", f"策略{n}: {zh}", f"策略{n}：{zh}",
                  f"Strategy {n}", f"S{n}", f"策略{str(n).translate(FULL_WIDTH)}"):
        result = normalise_label(label)
        assert result.ok and result.id == n, (label, result.error)


@pytest.mark.parametrize("s", STRATEGIES, ids=lambda s: s.abbr)
def test_every_name_abbreviation_and_chinese_name_is_accepted(s):
    for label in (s.name, s.name.upper(), s.abbr, s.zh, s.label_zh, f"{s.name} ({s.abbr})"):
        result = normalise_label(label)
        assert result.ok and result.id == s.id, (label, result.error)


@pytest.mark.parametrize(("label", "reason"), [
    ("0", "strategy number 0 is outside 1-12"),
    ("策略0", "strategy number 0 is outside 1-12"),
    ("13", "strategy number 13 is outside 1-12"),
    ("策略13 其它", "strategy number 13 is outside 1-12"),
    ("Strategy 13", "strategy number 13 is outside 1-12"),
    ("策略1 提供建议", "contradicts"),  # number 1 is Greeting, the name is strategy 6
    ("策略2 香蕉", "unknown strategy name"),
    ("Banana", "unknown strategy label"),
    ("Greeting (IV)", "unknown strategy label"),  # the two halves disagree
    ("", "empty label"), ("   ", "empty label"), (None, "empty label"),
])
def test_unmappable_labels_are_rejected_with_their_reason(label, reason):
    result = normalise_label(label)
    assert not result.ok and not result.multi and result.id is None
    assert reason in result.error


@pytest.mark.parametrize(("label", "ids"), [
    ("策略6+策略7", (6, 7)), ("策略6＋策略7", (6, 7)), ("策略6 + 策略7", (6, 7)),
    ("PS/ID", (6, 7)), ("提供建议、信息传达", (6, 7)), ("Greeting, Identity Verification", (1, 2)),
    ("策略1+策略2+策略11", (1, 2, 11)),
    ("策略6+策略6", (6, 6)),  # one strategy written twice is still a '+' label
])
def test_multi_strategy_labels_are_multi_not_ok(label, ids):
    result = normalise_label(label)
    assert result.multi and not result.ok and result.id is None
    assert result.ids == ids


@pytest.mark.parametrize("label", ["策略6+策略13", "策略6+banana", "+", "策略6+"])
def test_multi_labels_with_a_bad_or_missing_part(label):
    result = normalise_label(label)
    assert not result.ok and result.id is None
    if label in ("+", "策略6+"):  # fewer than two named parts: not a multi-label
        assert not result.multi
    else:
        assert "multi-strategy label with a bad part" in result.error
