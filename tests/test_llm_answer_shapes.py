"""Issue 11 A3: shapes models produce in JSON mode are accepted; other shapes are refused."""

import pytest

from csc.llm.parsing import ParseError, parse_as
from schemas.llm import (
    CustomerReply,
    DialogueJudgement,
    PostfilterVerdict,
    PrefilterVerdict,
    RewrittenDialogue,
    StrictPostfilterVerdict,
)

TURNS = '[{"speaker": "客服", "strategy": "GT", "text": "您好"}, {"speaker": "客户", "text": "嗯"}]'


@pytest.mark.parametrize("raw", [
    '{"dialogue": ' + TURNS + '}',
    '{"turns": ' + TURNS + '}',
    '```json\n{"dialogue": ' + TURNS + '}\n```',
    '{"language": "zh", "dialogue": ' + TURNS + '}',   # the input's language echoed
])
def test_an_object_wrapping_the_turn_list_is_the_list(raw):
    turns = parse_as(raw, RewrittenDialogue).root
    assert [(t.speaker, t.strategy, t.text) for t in turns] == [
        ("客服", "GT", "您好"), ("客户", "", "嗯")]


@pytest.mark.parametrize(("raw", "message"), [
    ('{"conversation": ' + TURNS + '}',
     "JSON does not match RewrittenDialogue: (root): Value error, expected a list of turns, "
     "or an object holding it under 'dialogue' or 'turns'"),
    ('{"dialogue": ' + TURNS + ', "turns": ' + TURNS + '}',
     "JSON does not match RewrittenDialogue: (root): Value error, expected a list of turns, "
     "or an object holding it under 'dialogue' or 'turns'"),
    ('{"dialogue": "客服：您好"}',
     "JSON does not match RewrittenDialogue: (root): Value error, expected a list of turns, "
     "or an object holding it under 'dialogue' or 'turns'"),
    ('{"speaker": "客服", "text": "您好"}',
     "JSON does not match RewrittenDialogue: (root): Value error, expected a list of turns, "
     "or an object holding it under 'dialogue' or 'turns'"),
])
def test_other_wrappers_are_refused(raw, message):
    with pytest.raises(ParseError) as err:
        parse_as(raw, RewrittenDialogue)
    assert str(err.value) == message


def test_null_strategy_on_a_customer_turn_is_no_strategy():
    raw = '[{"speaker": "客服", "strategy": "GT", "text": "您好"}, ' \
          '{"speaker": "客户", "strategy": null, "text": "嗯"}]'
    turns = parse_as(raw, RewrittenDialogue).root
    assert turns[1].strategy == ""
    assert parse_as('{"turns": ' + raw + '}', RewrittenDialogue).root[1].strategy == ""
    with pytest.raises(ParseError, match=r"0\.strategy: Input should be a valid string"):
        parse_as('[{"speaker": "客户", "strategy": 3, "text": "嗯"}]', RewrittenDialogue)
    with pytest.raises(ParseError, match=r"0\.text: Input should be a valid string"):
        parse_as('[{"speaker": "客户", "text": null}]', RewrittenDialogue)


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"quality": "High"}', "high"), ('{"quality": "LOW"}', "low"),
    ('{"quality": " high "}', "high"), ('{"quality": "low"}', "low"),
])
def test_quality_is_case_insensitive(raw, expected):
    assert parse_as(raw, PostfilterVerdict).quality == expected


def test_strict_variant_quality_is_case_insensitive_too():
    assert parse_as('{"quality": "Medium"}', StrictPostfilterVerdict).quality == "medium"
    with pytest.raises(ParseError, match="quality: Input should be 'high' or 'low'"):
        parse_as('{"quality": "Medium"}', PostfilterVerdict)
    with pytest.raises(ParseError, match="quality: Input should be 'high' or 'low'"):
        parse_as('{"quality": "excellent"}', PostfilterVerdict)
    with pytest.raises(ParseError, match="quality: Input should be 'high' or 'low'"):
        parse_as('{"quality": 1}', PostfilterVerdict)


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"low_quality": "true"}', True), ('{"low_quality": "false"}', False),
    ('{"low_quality": "True"}', True), ('{"low_quality": "FALSE"}', False),
    ('{"low_quality": true}', True), ('{"low_quality": false}', False),
])
def test_booleans_as_strings(raw, expected):
    assert parse_as(raw, PrefilterVerdict).low_quality is expected


@pytest.mark.parametrize("value", ['"yes"', '"no"', '"1"', "1", "0", '"on"', '""', "null"])
def test_other_boolean_lookalikes_are_refused(value):
    with pytest.raises(ParseError, match="low_quality: "):
        parse_as('{"low_quality": ' + value + '}', PrefilterVerdict)


def test_other_answer_booleans_take_strings_too():
    assert parse_as('{"text": "好的", "finished": "true"}', CustomerReply).finished is True
    judged = parse_as('{"strategy_adherence": "true", "unreasonable_requests": true, '
                      '"natural": "False", "varied": true, "role_consistent": true}',
                      DialogueJudgement)
    assert judged.strategy_adherence is True and judged.natural is False
    with pytest.raises(ParseError, match="finished: "):
        parse_as('{"text": "好的", "finished": "yes"}', CustomerReply)
