"""Parse tolerance on realistic raw answers; strict validation after."""

import pytest

from csc.llm.parsing import ParseError, extract_json, parse_as, split_reasoning
from schemas.llm import PostfilterVerdict, PrefilterVerdict, RewrittenDialogue

# (raw answer as models write it, expected JSON value)
CORPUS = [
    ('{"low_quality": false}', {"low_quality": False}),
    ('```json\n{"low_quality": true, "reason": "辱骂"}\n```', {"low_quality": True, "reason": "辱骂"}),
    ("```\n{\"quality\": \"high\"}\n```", {"quality": "high"}),
    ('Sure! Here is my verdict:\n{"quality": "medium", "reason": "ok"}\nHope this helps.',
     {"quality": "medium", "reason": "ok"}),
    ('```json\n{\n  // judged on criteria a-c\n  "quality": "low", /* noise */\n  "reason": "x",\n}\n```',
     {"quality": "low", "reason": "x"}),
    ('<think>The agent greets, verifies, closes. Looks fine.</think>\n{"low_quality": false}',
     {"low_quality": False}),
    ('<think>\n先看客服是否礼貌……\n</think>\n\n```json\n{"low_quality": false, "reason": "正常"}\n```',
     {"low_quality": False, "reason": "正常"}),
    ('｛“low_quality”：true，“reason”：“客服态度冷漠”｝', {"low_quality": True, "reason": "客服态度冷漠"}),
    ('[{"speaker": "客服", "strategy": "策略1 礼貌问候", "text": "您好，请问有什么可以帮您？"},\n'
     ' {"speaker": "客户", "strategy": "", "text": "我的卡被锁了，网址是 http://x.cn//a"},]',
     [{"speaker": "客服", "strategy": "策略1 礼貌问候", "text": "您好，请问有什么可以帮您？"},
      {"speaker": "客户", "strategy": "", "text": "我的卡被锁了，网址是 http://x.cn//a"}]),
    ('The JSON: {"quality": "high", "reason": "a brace } inside a string"} done',
     {"quality": "high", "reason": "a brace } inside a string"}),
    ('{"reason": "客户说：“好的，谢谢”", "quality": "high"}',
     {"reason": "客户说：“好的，谢谢”", "quality": "high"}),
]


@pytest.mark.parametrize(("raw", "expected"), CORPUS)
def test_extracts_json_from_realistic_answers(raw, expected):
    assert extract_json(raw) == expected


@pytest.mark.parametrize("raw", [
    '{"low_quality": fal',                     # truncated
    '```json\n{"quality": "high", "reason": \n```',
    "I cannot judge this dialogue.",
    "",
])
def test_unreadable_answers_raise_parse_error(raw):
    with pytest.raises(ParseError):
        extract_json(raw)


def test_validation_is_strict_after_tolerant_extraction():
    assert parse_as('```json\n{"low_quality": true}\n```', PrefilterVerdict).low_quality
    with pytest.raises(ParseError, match="quality"):
        parse_as('{"quality": "excellent"}', PostfilterVerdict)
    with pytest.raises(ParseError, match="low_quality"):
        parse_as('{"verdict": false}', PrefilterVerdict)
    turns = parse_as('[{"speaker": "客服", "strategy": "GT", "text": "hi"}]', RewrittenDialogue)
    assert turns.root[0].strategy == "GT"


def test_reasoning_is_kept_apart_from_the_answer():
    s = split_reasoning("<think>step 1\nstep 2</think>\n{\"a\": 1}")
    assert s.answer == '{"a": 1}' and s.reasoning == "step 1\nstep 2"
    s = split_reasoning('{"a": 1}', reasoning_content="R1 thoughts")
    assert s.answer == '{"a": 1}' and s.reasoning == "R1 thoughts"
    assert split_reasoning("plain").reasoning is None
