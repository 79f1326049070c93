"""The judges hold the paper's criteria: the pre-filter judge exactly the two of csc-method
§3.3 with a `{"low_quality": bool}` answer; the post-filter judge exactly the three of §3.5(b),
binary. A stricter judge is a named, non-default variant whose prompt version shows in the
lineage."""

from __future__ import annotations

import asyncio
import json
import random
import re
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from csc.csconv.postfilter import PostfilterConfig
from csc.csconv.stage import SourceDialogue, process_dialogue
from csc.errors import ConfigError
from csc.llm.asking import ask
from csc.llm.gateway import LLMResult
from csc.prompts import PROMPTS_DIR, load_prompt, prompt_variant
from schemas.llm import (
    INPUT_OF,
    DialogueInput,
    PostfilterVerdict,
    PrefilterVerdict,
    Role,
    StrictPostfilterVerdict,
    output_of,
)
from simulator import faults as fx
from simulator.responders import postfilter_judge, prefilter_judge, respond

VARIANT = "CSC_POSTFILTER_JUDGE_VARIANT"


def numbered(text: str) -> list[str]:
    """The numbered criteria of a prompt ('1. ...', '2. ...')."""
    return re.findall(r"^\d+\.\s*(.+)$", text, re.M)


# ---- answer types ----------------------------------------------------------------------------

def test_the_default_post_filter_answer_is_binary():
    assert PostfilterVerdict(quality="high").quality == "high"
    assert PostfilterVerdict(quality="low").quality == "low"
    with pytest.raises(ValidationError):
        PostfilterVerdict(quality="medium")
    assert output_of(Role.POSTFILTER_JUDGE) is PostfilterVerdict


def test_the_strict_variant_answer_has_a_medium_tier():
    assert StrictPostfilterVerdict(quality="medium").quality == "medium"
    assert output_of(Role.POSTFILTER_JUDGE, "strict") is StrictPostfilterVerdict
    assert output_of(Role.POSTFILTER_JUDGE, "unknown") is PostfilterVerdict
    assert output_of(Role.PREFILTER_JUDGE, "strict") is PrefilterVerdict


def test_the_pre_filter_answer_is_low_quality_only():
    assert PrefilterVerdict.model_validate({"low_quality": True}).low_quality is True
    with pytest.raises(ValidationError):
        PrefilterVerdict.model_validate({"reason": "x"})


# ---- default prompts -------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_post_filter_prompt_has_exactly_the_three_criteria_and_two_grades(lang, monkeypatch):
    monkeypatch.delenv(VARIANT, raising=False)
    prompt = load_prompt(Role.POSTFILTER_JUDGE, lang)
    text = prompt.system + prompt.user
    criteria = numbered(prompt.user)
    assert len(criteria) == 3
    words = {"zh": (("结束",), ("策略",), ("系统提示", "第三方")),
             "en": (("finished",), ("strategy",), ("system", "third-party"))}[lang]
    for criterion, needed in zip(criteria, words, strict=True):
        assert all(w in criterion for w in needed), criterion
    assert "medium" not in text and "high" in text and "low" in text
    for extra in ("仓促", "敷衍", "rushed", "dismissive", "patient", "耐心"):
        assert extra not in text, extra


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pre_filter_prompt_has_exactly_the_two_criteria(lang, monkeypatch):
    prompt = load_prompt(Role.PREFILTER_JUDGE, lang)
    criteria = numbered(prompt.user)
    assert len(criteria) == 2
    if lang == "zh":
        assert "辱骂" in criteria[0] and "不当" in criteria[0]
        assert all(w in criteria[1] for w in ("不耐烦", "冷漠", "不尊重"))
        assert '{"low_quality": true 或 false}' in prompt.user
    else:
        assert "abusive" in criteria[0] and "inappropriate" in criteria[0]
        assert all(w in criteria[1] for w in ("impatient", "cold", "disrespectful"))
        assert '{"low_quality": true or false}' in prompt.user
    for extra in ("敷衍", "dismissive", "reason", "理由"):
        assert extra not in prompt.user, extra


# ---- the strict variant ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_strict_variant_is_opt_in_and_its_version_differs(lang, monkeypatch):
    monkeypatch.delenv(VARIANT, raising=False)
    default = load_prompt(Role.POSTFILTER_JUDGE, lang)
    assert prompt_variant(Role.POSTFILTER_JUDGE) is None
    assert default.version.startswith(f"postfilter_judge.{lang}@")
    monkeypatch.setenv(VARIANT, "strict")
    strict = load_prompt(Role.POSTFILTER_JUDGE, lang)
    assert strict.version.startswith(f"postfilter_judge.strict.{lang}@")
    assert strict.version != default.version
    assert "medium" in strict.user
    assert (PROMPTS_DIR / f"postfilter_judge.strict.{lang}.md").is_file()
    monkeypatch.setenv(VARIANT, "default")
    assert load_prompt(Role.POSTFILTER_JUDGE, lang).version == default.version


@pytest.mark.parametrize("value", ["../rewriter", "zh", "Strict!", "x" * 40])
def test_a_bad_variant_name_is_a_config_error(value, monkeypatch):
    monkeypatch.setenv(VARIANT, value)
    with pytest.raises(ConfigError, match=VARIANT):
        load_prompt(Role.POSTFILTER_JUDGE, "zh")


def test_a_variant_without_a_template_is_a_config_error(monkeypatch):
    monkeypatch.setenv(VARIANT, "lenient")
    with pytest.raises(ConfigError, match=re.escape("postfilter_judge.lenient.zh.md")):
        load_prompt(Role.POSTFILTER_JUDGE, "zh")


class _SimGateway:
    """A gateway that answers with the simulator's pure responders and remembers requests."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.requests = []
        self.settings = SimpleNamespace(role=lambda role: SimpleNamespace(model="sim-x"))

    async def ask(self, *args, **kwargs):  # the real asking code, over `one` below
        return await ask(self, *args, **kwargs)

    async def one(self, req, refresh=None):
        self.requests.append(req)
        data = json.loads(req.messages[-1]["content"].split("```json\n")[1].split("\n```")[0])
        inp = INPUT_OF[req.role].model_validate(data)
        answer = respond(req.role, inp, random.Random(self.seed), 0)
        value = req.response_type.model_validate_json(fx.to_json(answer.value)) \
            if req.role is not Role.REWRITER else answer.value
        return LLMResult(req.item_key, value, "", answer.reasoning, cached=False, attempts=1,
                         reasks=0)


SOURCE = SourceDialogue("d1", "zh", None, [
    ("customer", "你好，我的信用卡昨天被锁了，刷不了卡"), ("supporter", "您好，请问您贵姓？"),
    ("customer", "我姓王，手机号是[手机号码]"), ("supporter", "好的，已经为您查询"),
    ("customer", "那什么时候能解锁呢？我着急用"), ("supporter", "今天之内就可以解锁"),
    ("customer", "好的，谢谢你"), ("supporter", "不客气，再见")])


def _judged_with(monkeypatch, variant: str | None):
    if variant:
        monkeypatch.setenv(VARIANT, variant)
    else:
        monkeypatch.delenv(VARIANT, raising=False)
    for seed in range(40):  # a source whose simulated rewrite passes the rules
        gw = _SimGateway(seed)
        outcome = asyncio.run(process_dialogue(gw, SOURCE, PostfilterConfig()))
        if outcome.judgement is not None:
            return gw, outcome
    raise AssertionError("no simulated rewrite reached the judge")


def test_the_stage_asks_the_binary_judge_by_default(monkeypatch):
    gw, outcome = _judged_with(monkeypatch, None)
    judge = [r for r in gw.requests if r.role is Role.POSTFILTER_JUDGE]
    assert len(judge) == 1 and judge[0].response_type is PostfilterVerdict
    assert outcome.judgement["prompt_version"] == \
        load_prompt(Role.POSTFILTER_JUDGE, "zh").version
    assert outcome.judgement["prompt_version"].startswith("postfilter_judge.zh@")


def test_the_stage_records_the_strict_variant_in_the_lineage(monkeypatch):
    gw, outcome = _judged_with(monkeypatch, "strict")
    judge = [r for r in gw.requests if r.role is Role.POSTFILTER_JUDGE]
    assert len(judge) == 1 and judge[0].response_type is StrictPostfilterVerdict
    assert judge[0].prompt_version.startswith("postfilter_judge.strict.zh@")
    assert outcome.judgement["prompt_version"] == judge[0].prompt_version
    # the other roles keep their default prompts
    pre = next(r for r in gw.requests if r.role is Role.PREFILTER_JUDGE)
    assert pre.prompt_version.startswith("prefilter_judge.zh@")


# ---- the simulator answers the new shapes ----------------------------------------------------

def _dialogue(lang: str, texts: list[tuple[str, str, str]]) -> DialogueInput:
    return DialogueInput.model_validate({"language": lang, "dialogue": [
        {"speaker": s, "strategy": g or None, "text": t} for s, g, t in texts]})


def test_the_simulated_pre_filter_answers_exactly_low_quality():
    rude = _dialogue("zh", [("customer", "", "卡被锁了"), ("supporter", "", "爱买不买，不归我管")])
    polite = _dialogue("en", [("customer", "", "My card is locked"),
                              ("supporter", "", "I'm sorry, let me check that for you")])
    assert json.loads(fx.to_json(prefilter_judge(rude, random.Random(1)))) == \
        {"low_quality": True}
    assert json.loads(fx.to_json(prefilter_judge(polite, random.Random(1)))) == \
        {"low_quality": False}


def _finished(lang: str) -> DialogueInput:
    return _dialogue(lang, [
        ("supporter", "策略1 礼貌问候", "您好"), ("customer", "", "你好"),
        ("supporter", "策略2 确认身份", "请提供手机号"), ("customer", "", "[手机号码]"),
        ("supporter", "策略11 感谢与告别", "感谢来电，再见")])


def test_the_simulated_post_filter_judge_never_answers_medium():
    grades = {postfilter_judge(_finished("zh"), random.Random(k)).quality for k in range(300)}
    assert grades == {"high", "low"}


def test_the_simulated_post_filter_judge_checks_the_three_criteria():
    rng = random.Random(0)
    unfinished = _finished("zh")
    unfinished.dialogue = unfinished.dialogue[:4]  # ends before any closure
    assert postfilter_judge(unfinished, rng).quality == "low"
    unlabelled = _finished("zh")
    unlabelled.dialogue[2].strategy = None
    assert postfilter_judge(unlabelled, rng).quality == "low"
    noisy = _finished("zh")
    noisy.dialogue[1].text = "你好（背景有人说话）"
    assert postfilter_judge(noisy, rng).quality == "low"
