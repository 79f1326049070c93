import pytest

from csc.framework import (
    BY_ID,
    STRATEGIES,
    Phase,
    _build_lookup,
    label_zh,
    normalise_label,
    strategy_catalogue,
    strategy_label,
    usual_phase,
)


def test_twelve_strategies_five_stages():
    assert [s.id for s in STRATEGIES] == list(range(1, 13))
    assert len(Phase) == 5
    assert {s.phase for s in STRATEGIES if s.id != 12} == set(Phase)
    assert usual_phase(12) is None
    assert usual_phase(1) is Phase.CONNECTING and usual_phase(11) is Phase.MAINTAINING
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


# --- Issue 9: tests that kill framework.py's mutants (docs/testing.md, "Mutation scores"). ---

# Written out by hand from the table in csc-method.md §2 (name, abbreviation, 中文, id) plus
# the extra aliases the normaliser accepts, each folded the way `_key` folds it (lower case, no
# spaces). `_build_lookup` runs once at import, before mutmut switches a mutant on, so only a
# test that calls it again can see a changed key or value.
_TABLE_KEYS = {
    "greeting": 1, "gt": 1, "礼貌问候": 1, "1": 1,
    "identityverification": 2, "iv": 2, "确认身份": 2, "2": 2,
    "restatementorparaphrasing": 3, "rp": 3, "重述或转述": 3, "3": 3,
    "problemrefinement": 4, "pr": 4, "细化问题": 4, "4": 4,
    "emotionalmanagement": 5, "em": 5, "情感管理": 5, "5": 5,
    "providingsuggestions": 6, "ps": 6, "提供建议": 6, "6": 6,
    "informationdelivery": 7, "id": 7, "信息传达": 7, "7": 7,
    "resolutionimplementation": 8, "ri": 8, "解决实施": 8, "8": 8,
    "feedbackrequest": 9, "fr": 9, "反馈请求": 9, "9": 9,
    "relationshipcontinuation": 10, "rc": 10, "关系延续": 10, "10": 10,
    "appreciation&closure": 11, "ac": 11, "感谢与告别": 11, "11": 11,
    "others": 12, "其它": 12, "12": 12,
}
_EXTRA_ALIASES = {
    "greetings": 1, "greet": 1, "问候": 1,
    "identityverify": 2, "verification": 2, "身份确认": 2, "身份验证": 2,
    "restatement": 3, "paraphrasing": 3, "paraphrase": 3, "重述": 3, "转述": 3,
    "refinement": 4, "problemclarification": 4,
    "emotionmanagement": 5, "emotionalsupport": 5, "empathy": 5,
    "suggestion": 6, "suggestions": 6, "providingsuggestion": 6, "providesuggestions": 6,
    "informationdelivering": 7, "information": 7, "providinginformation": 7,
    "resolution": 8, "implementation": 8,
    "feedback": 9, "feedbackrequests": 9,
    "relationshipmaintenance": 10, "continuation": 10,
    "appreciationandclosure": 11, "appreciationclosure": 11, "closure": 11,
    "thanksandgoodbye": 11, "感谢和告别": 11, "感谢告别": 11,
    "other": 12, "其他": 12,
}


def test_build_lookup_is_exactly_the_table_and_the_aliases():
    lookup = _build_lookup()
    assert lookup == {**_TABLE_KEYS, **_EXTRA_ALIASES}
    assert len(lookup) == 48 + 37


def test_build_lookup_maps_every_form_of_every_strategy_to_its_id():
    lookup = _build_lookup()
    for s in STRATEGIES:
        forms = (s.name.lower().replace(" ", ""), s.abbr.lower(), s.zh, str(s.id))
        for form in forms:
            assert lookup[form] == s.id, (form, s.id)
    assert sorted(set(lookup.values())) == list(range(1, 13))


def test_build_lookup_result_is_what_normalise_label_uses():
    # The module-level table the normaliser reads was built by the same function.
    from csc import framework

    assert _build_lookup() == framework._LOOKUP


def test_quotes_around_a_label_are_ignored_but_a_stray_letter_is_not():
    assert normalise_label('"Greeting"').id == 1
    assert normalise_label("'GT'").id == 1
    assert normalise_label("“确认身份”").id == 2
    assert normalise_label("‘IV’").id == 2
    result = normalise_label("GTX")
    assert not result.ok and result.error == "unknown strategy label 'GTX'"


@pytest.mark.parametrize("label", ["  ", "“”", '""', "‘’", "''", "", None])
def test_empty_or_quotes_only_label_says_exactly_empty_label(label):
    result = normalise_label(label)
    assert result.error == "empty label"
    assert result.ids == () and not result.ok


def test_exact_error_messages():
    assert normalise_label("策略13").error == "strategy number 13 is outside 1-12"
    assert normalise_label("策略0").error == "strategy number 0 is outside 1-12"
    assert normalise_label("策略3 礼貌问候").error == (
        "number 3 (Restatement or Paraphrasing) contradicts name '礼貌问候' (Greeting)")
    assert normalise_label("策略3 banana").error == "unknown strategy name 'banana' after number 3"
    assert normalise_label("策略6+banana").error == (
        "multi-strategy label with a bad part: unknown strategy label 'banana'")
    assert normalise_label("策略6+策略6").ids == (6, 6)


@pytest.mark.parametrize(
    "label",
    [
        "  ",  # empty
        " Greeting ",  # single
        "策略6+banana",  # multi-strategy label with a bad part
        "策略6 + 策略7",  # multi
        "banana",  # unknown
        "Problem Refinement (PR)",  # parenthesised
        "策略13",  # number out of range
    ],
)
def test_result_keeps_the_raw_label_on_every_path(label):
    assert normalise_label(label).raw == label


def test_strategy_label_per_language():
    # Hand-written from csc-method.md §2 and §6 ('策略N 名称' in Chinese data).
    assert strategy_label(1, "zh") == "策略1 礼貌问候"
    assert strategy_label(6, "zh") == "策略6 提供建议"
    assert strategy_label(12, "zh") == "策略12 其它"
    assert strategy_label(1, "en") == "Greeting"
    assert strategy_label(11, "en") == "Appreciation & Closure"
    assert strategy_label(12, "en") == "Others"
    assert strategy_label(3, "fr") == "Restatement or Paraphrasing"


# (id, name, abbr, 中文, stage in English, stage in Chinese) from csc-method.md §2; PR and ID
# carry both stages the table names.
_CATALOGUE_ROWS = [
    (1, "Greeting", "GT", "礼貌问候", "Connecting", "欢迎和建立联系"),
    (2, "Identity Verification", "IV", "确认身份", "Connecting", "欢迎和建立联系"),
    (3, "Restatement or Paraphrasing", "RP", "重述或转述", "Identifying", "理解和识别问题"),
    (4, "Problem Refinement", "PR", "细化问题", "Identifying/Exploring", "理解和识别问题/寻求解决方案"),
    (5, "Emotional Management", "EM", "情感管理", "Identifying", "理解和识别问题"),
    (6, "Providing Suggestions", "PS", "提供建议", "Exploring", "寻求解决方案"),
    (7, "Information Delivery", "ID", "信息传达", "Exploring/Resolving", "寻求解决方案/解决和确认"),
    (8, "Resolution Implementation", "RI", "解决实施", "Resolving", "解决和确认"),
    (9, "Feedback Request", "FR", "反馈请求", "Maintaining", "结束和保持关系"),
    (10, "Relationship Continuation", "RC", "关系延续", "Maintaining", "结束和保持关系"),
    (11, "Appreciation & Closure", "AC", "感谢与告别", "Maintaining", "结束和保持关系"),
    (12, "Others", "Others", "其它", None, None),
]


def test_strategy_catalogue_in_chinese():
    lines = strategy_catalogue("zh").split("\n")
    assert len(lines) == 12
    for line, (sid, _name, _abbr, zh, _stage, stage_zh) in zip(lines, _CATALOGUE_ROWS, strict=True):
        where = stage_zh or "任意阶段"
        assert line == f"- 策略{sid} {zh}（{where}）：{BY_ID[sid].definition_zh}"
    assert lines[0] == "- 策略1 礼貌问候（欢迎和建立联系）：以友好、专业的方式开启对话，只问候，不涉及其他内容。"
    assert lines[11] == "- 策略12 其它（任意阶段）：仅在以上 1–11 种策略都不适用时使用。"


def test_strategy_catalogue_in_english():
    text = strategy_catalogue("en")
    lines = text.split("\n")
    assert len(lines) == 12 and text.count("\n") == 11
    for line, (sid, name, abbr, _zh, stage, _stage_zh) in zip(lines, _CATALOGUE_ROWS, strict=True):
        where = stage or "any stage"
        assert line == f"- {name} ({abbr}, {where}): {BY_ID[sid].definition}"
    assert lines[0] == ("- Greeting (GT, Connecting): Opens the conversation warmly and "
                        "professionally; carries no other content.")
    assert lines[11] == "- Others (Others, any stage): Used only when none of strategies 1-11 fits."
    assert strategy_catalogue("de") == text
