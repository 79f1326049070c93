"""Issue 11 A5: a strategy label the model wrote into a turn's text is taken out of the text
and checked against the turn's own label.

Same strategy: stripped. Another strategy: the dialogue is rejected (step 'label_mismatch').
A supporter turn without a label of its own takes the text's. Ordinary bracketed text (a
placeholder, a list number, an aside) is left alone. Stripping comes before step (a), which
would otherwise drop a last turn holding a bracketed label as a system note.
"""

from __future__ import annotations

import pytest
from rewrite_builders import CUS, SUP, T, base

from csc.csconv.postfilter import apply_rules
from schemas.llm import RewrittenTurn


def with_turn(i: int, turn: RewrittenTurn) -> list[RewrittenTurn]:
    turns = base()
    turns[i] = turn
    return turns


@pytest.mark.parametrize("text", [
    "[策略1 礼貌问候] 您好，很高兴为您服务",
    "[策略1 礼貌问候]您好，很高兴为您服务",
    "【问候】您好，很高兴为您服务",
    "【策略1】 您好，很高兴为您服务",
    "（礼貌问候）您好，很高兴为您服务",  # full-width parentheses
    "［策略一］您好，很高兴为您服务",  # full-width square brackets, a Chinese numeral
    "(Greeting) 您好，很高兴为您服务",
    "[Greeting]: 您好，很高兴为您服务",
    "  [ Strategy 1 Greeting ]  您好，很高兴为您服务",
    "策略1 礼貌问候：您好，很高兴为您服务",
    "策略1: 您好，很高兴为您服务",
    "Strategy 1 - Greeting: 您好，很高兴为您服务",
    "您好，很高兴为您服务（策略1 礼貌问候）",  # at the end
    "您好，很高兴为您服务 [Greeting]",
])
def test_a_label_naming_the_turns_strategy_is_stripped(text):
    out = apply_rules(with_turn(0, T(SUP, text, "策略1 礼貌问候")))
    assert out.passed, out.reason
    first = out.turns[0]
    assert (first.text, first.strategy_id, first.strategy_label) == \
        ("您好，很高兴为您服务", 1, "策略1 礼貌问候")
    assert out.labels_stripped == 1


def test_a_label_at_both_ends_is_stripped_twice():
    out = apply_rules(with_turn(0, T(SUP, "[Greeting] 您好 (策略1)", "GT")))
    assert out.passed and out.turns[0].text == "您好" and out.labels_stripped == 2


def test_a_label_naming_another_strategy_rejects_with_both_named():
    out = apply_rules(with_turn(4, T(SUP, "[策略3 重述或转述] 请问是哪天发生的？", "策略4 细化问题")))
    assert out.step == "label_mismatch"
    assert out.reason == ("turn 4: the text is labelled '策略3 重述或转述' (Restatement or "
                          "Paraphrasing) but the turn's strategy is '策略4 细化问题' "
                          "(Problem Refinement)")


def test_a_mismatch_at_the_end_of_the_text_is_caught_too():
    out = apply_rules(with_turn(6, T(SUP, "已为您解锁 (Information Delivery)", "策略8 解决实施")))
    assert out.step == "label_mismatch" and out.reason.startswith("turn 6: ")


def test_a_multi_strategy_label_in_the_text_is_not_the_turns_single_one():
    out = apply_rules(with_turn(6, T(SUP, "[策略7+策略8] 已为您解锁", "策略8 解决实施")))
    assert out.step == "label_mismatch"
    assert "(Information Delivery + Resolution Implementation)" in out.reason


def test_a_supporter_turn_without_a_label_takes_the_texts():
    out = apply_rules(with_turn(4, T(SUP, "【细化问题】请问是哪天发生的？")))
    assert out.passed, out.reason
    turn = out.turns[4]
    assert (turn.text, turn.strategy_id, turn.strategy_label, turn.phase) == \
        ("请问是哪天发生的？", 4, "细化问题", "identifying")


def test_a_multi_strategy_label_taken_from_the_text_is_still_multi_strategy():
    out = apply_rules(with_turn(6, T(SUP, "[策略7+策略8] 已为您解锁")))
    assert out.step == "multi_strategy"


def test_a_turn_label_that_maps_to_nothing_is_reported_by_the_label_step():
    out = apply_rules(with_turn(4, T(SUP, "[策略4] 请问是哪天发生的？", "策略99")))
    assert out.step == "strategy_label" and "outside 1-12" in out.reason


def test_a_label_on_a_customer_turn_is_stripped_and_dropped():
    out = apply_rules(with_turn(5, T(CUS, "[策略12 其它] 昨天下午")))
    assert out.passed, out.reason
    turn = out.turns[5]
    assert (turn.text, turn.strategy_label, turn.strategy_id) == ("昨天下午", None, None)


@pytest.mark.parametrize("text", [
    "(1) 请先打开App",  # a list number, not a strategy
    "[1] 请先打开App",
    "(PS) 请先打开App",  # two letters: an abbreviation is more often ordinary text
    "(笑) 请先打开App",
    "[手机号码] 请先打开App",  # a placeholder
    "(注意) 请先打开App",
    "Strategy 6 is what I suggest: 请先打开App",  # no strategy name after the number
    "请先打开App（设置→安全）",
])
def test_ordinary_bracketed_text_is_left_alone(text):
    out = apply_rules(with_turn(4, T(SUP, text, "策略6 提供建议")))
    assert out.passed, out.reason
    assert out.turns[4].text == text and out.labels_stripped == 0


def test_a_lone_placeholder_customer_turn_keeps_its_text():
    out = apply_rules(base())
    assert out.passed and out.turns[3].text == "[手机号码]"


@pytest.mark.parametrize("last", ["感谢您的来电，再见（策略11 感谢与告别）", "(Closure) 感谢您的来电，再见"])
def test_a_label_on_the_last_turn_is_not_taken_for_a_system_note(last):
    turns = base()[:9]  # ends with the supporter's closure
    turns[8] = T(SUP, last, "策略11 感谢与告别")
    out = apply_rules([*turns, T(CUS, "好的"), T(SUP, last, "策略11 感谢与告别")])
    assert out.passed, out.reason
    assert out.trimmed == 0 and len(out.turns) == 11
    assert out.turns[-1].text == "感谢您的来电，再见"


def test_a_real_system_note_after_the_labels_go_is_still_trimmed():
    turns = [*base(), T(SUP, "[Closure] （系统提示：会话结束）", "策略11 感谢与告别")]
    out = apply_rules(turns)
    assert out.passed and out.trimmed == 1 and len(out.turns) == 10


def test_a_text_that_was_only_a_label_is_an_empty_turn():
    out = apply_rules(with_turn(6, T(SUP, "[策略8 解决实施]", "策略8 解决实施")))
    assert out.step == "empty_turn"
