"""The CSConv post-filter rules, label agreement and the released export shape."""

from __future__ import annotations

import json

import polars as pl
import pytest

from csc.csconv.export import released_shape, write_export
from csc.csconv.postfilter import PostfilterConfig, apply_rules, has_system_note
from csc.metrics.agreement import agreement, cohen_kappa, per_label
from schemas.llm import RewrittenTurn


def T(speaker: str, text: str, strategy: str = "") -> RewrittenTurn:
    return RewrittenTurn(speaker=speaker, strategy=strategy, text=text)


def good(n_middle: int = 3) -> list[RewrittenTurn]:
    turns = [T("客服", "您好，很高兴为您服务", "策略1 礼貌问候"), T("客户", "你好，我的卡被锁了"),
             T("客服", "请提供一下您的[手机号码]", "策略2 确认身份"), T("客户", "[手机号码]")]
    for i in range(n_middle):
        turns += [T("客服", f"请问是哪天发生的？{i}", "策略4 细化问题"), T("客户", f"昨天下午{i}")]
    turns += [T("客服", "感谢您的来电，再见", "策略11 感谢与告别"), T("客户", "谢谢，再见")]
    return turns


def test_a_clean_rewrite_passes_with_ids_and_stages():
    out = apply_rules(good())
    assert out.passed and len(out.turns) == 12
    sup = [t for t in out.turns if t.speaker == "supporter"]
    assert [t.strategy_id for t in sup] == [1, 2, 4, 4, 4, 11]
    assert sup[0].phase == "connecting" and sup[-1].phase == "maintaining"
    assert all(t.strategy_id is None for t in out.turns if t.speaker == "customer")


@pytest.mark.parametrize(("text", "note"), [
    ("（系统提示：通话已结束）", True), ("(system: call transferred)", True), ("好的(^_^)", False),
    ("谢谢 (T_T)", False), ("（转人工）", True), ("no brackets", False),
])
def test_system_note_detection_exempts_emoticons(text, note):
    assert has_system_note(text) is note


def test_step_a_trims_trailing_system_notes_repeatedly():
    turns = [*good(), T("客服", "（系统提示：会话结束）"), T("客户", "(system: user left the chat)")]
    out = apply_rules(turns)
    assert out.passed and out.trimmed == 2 and len(out.turns) == 12


@pytest.mark.parametrize(("mutate", "step"), [
    (lambda t: t[:8], "length"),
    (lambda t: t * 5, "length"),
    (lambda t: [*t[:2], T("客服", "x", "策略6+策略7"), *t[3:]], "multi_strategy"),
    (lambda t: [*t[:2], T("客服", "x", "策略99"), *t[3:]], "strategy_label"),
    (lambda t: [*t[:2], T("客服", "请问还有什么问题？", "策略4 细化问题"), *t[3:]], "required_strategies"),
    (lambda t: [*t[:3], T("客服", "稍等", "策略8 解决实施"), *t[4:]], "alternation"),
    # the answer type refuses an unknown speaker (tests/test_speakers.py); a turn built
    # without validation still meets the rule's own check
    (lambda t: [*t[:3], RewrittenTurn.model_construct(speaker="路人", strategy="", text="喂"),
                *t[4:]], "speaker"),
])
def test_each_rule_drops_with_its_step(mutate, step):
    out = apply_rules(mutate(good()))
    assert out.step == step and out.reason


def test_length_bounds_are_configurable(monkeypatch):
    assert apply_rules(good(0), PostfilterConfig(min_utterances=6)).passed
    assert apply_rules(good(0)).step == "length"
    monkeypatch.setenv("CSC_CSCONV_MIN_UTTERANCES", "7")
    monkeypatch.setenv("CSC_CSCONV_MAX_UTTERANCES", "45")
    assert PostfilterConfig.from_env() == PostfilterConfig(7, 45)
    monkeypatch.setenv("CSC_CSCONV_MAX_UTTERANCES", "five")
    with pytest.raises(ValueError, match="whole number"):
        PostfilterConfig.from_env()


def test_english_labels_and_speakers():
    turns = [T("supporter", "Hello!", "Greeting"), T("customer", "Hi, my card is blocked"),
             T("supporter", "Your name please?", "Identity Verification"), T("customer", "Li"),
             T("supporter", "When did it happen?", "Problem Refinement"), T("customer", "Today"),
             T("supporter", "You can unlock it in the app.", "Providing Suggestions"),
             T("customer", "Great"), T("supporter", "Thank you, goodbye!", "Appreciation & Closure"),
             T("customer", "Bye")]
    assert apply_rules(turns).passed


def test_cohen_kappa_matches_hand_computation():
    a = [1, 1, 2, 2, 3, 3]
    b = [1, 2, 2, 2, 3, 1]
    # observed 4/6; expected (2*2 + 2*3 + 2*1)/36 = 12/36
    assert cohen_kappa(a, b) == pytest.approx((4 / 6 - 1 / 3) / (1 - 1 / 3))
    assert agreement(a, a).kappa == 1.0 and agreement([], []).accuracy is None
    assert cohen_kappa([1, 1], [1, 1]) is None  # chance agreement 1: undefined
    per = per_label(a, b, [1, 2, 3, 4])
    assert per[2].n == 3 and per[2].accuracy == pytest.approx(2 / 3) and per[4].n == 0


def test_export_has_the_released_shape(tmp_path):
    frame = pl.DataFrame({
        "csconv_id": ["b", "b", "a", "a"], "business_area": ["cards", "cards", None, None],
        "utt_index": [1, 0, 0, 1], "speaker": ["customer", "supporter", "supporter", "customer"],
        "strategy_id": [None, 1, 11, None], "text": ["hi", "您好", "再见", "bye"],
        "language": ["zh"] * 4})
    records = released_shape(frame)
    assert records[0] == {"dialogue": [
        {"speaker": "客服", "strategy": "策略11 感谢与告别", "text": "再见"},
        {"speaker": "客户", "strategy": "", "text": "bye"}], "source": "", "language": "zh"}
    assert records[1]["dialogue"][0]["strategy"] == "策略1 礼貌问候"
    for fmt in ("json", "jsonl", "parquet"):
        path = write_export(records, tmp_path / f"x.{fmt}", fmt)
        assert path.exists() and not (tmp_path / f"x.{fmt}.tmp").exists()
    assert json.loads((tmp_path / "x.json").read_text())[1]["source"] == "cards"
    assert pl.read_parquet(tmp_path / "x.parquet").height == 2
