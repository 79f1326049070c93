"""Issue 11 A7: no residual PII after the rewrite.

The ingest masker (csc.pii) runs over what the rewriter wrote, turns and reasoning, before
anything is stored or shown to the judge; what it caught is counted on csconv.rewrites and in
the CSConv report.
"""

from __future__ import annotations

import json

from test_speakers import SOURCE_ZH, Scripted, answer, rewrite_zh, run_stage

from csc.csconv.report import render
from csc.csconv.rows import outcome_rows
from csc.csconv.stage import mask_rewrite
from schemas.llm import RewrittenTurn, Role
from warehouse.csconv_store import funnel_numbers, write_outcomes
from warehouse.db import connect, query

PHONE, MAIL = "13812345678", "zhang.wei@example.com"


def T(speaker: str, text: str, strategy: str = "") -> RewrittenTurn:
    return RewrittenTurn(speaker=speaker, strategy=strategy, text=text)


def test_the_masker_runs_over_turns_and_reasoning_and_counts_each():
    turns = [T("客服", "请留下您的手机号", "策略2 确认身份"),
             T("客户", f"我的手机号是{PHONE}，邮箱{MAIL}")]
    masked, reasoning, in_turns, in_reasoning = mask_rewrite(
        turns, f"客户说他的号码是{PHONE}", "zh")
    assert [t.text for t in masked] == ["请留下您的手机号", "我的手机号是[手机号码]，邮箱[邮箱]"]
    assert masked[0] is turns[0]  # an untouched turn is the same object
    assert (masked[1].speaker, masked[1].strategy) == ("客户", "")
    assert reasoning == "客户说他的号码是[手机号码]"
    assert (in_turns, in_reasoning) == (2, 1)


def test_placeholders_follow_the_dialogues_language_and_no_reasoning_stays_none():
    masked, reasoning, in_turns, in_reasoning = mask_rewrite(
        [T("customer", "call me at (415) 555-2671"), T("agent", "thanks", "GT")], None, "en")
    assert masked[0].text == "call me at [PHONE]" and reasoning is None
    assert (in_turns, in_reasoning) == (1, 0)


def test_a_rewrite_without_pii_is_unchanged_and_counts_zero():
    turns = [T("客服", "您好", "GT"), T("客户", "你好")]
    masked, reasoning, in_turns, in_reasoning = mask_rewrite(turns, "", "zh")
    assert masked == turns and reasoning == "" and (in_turns, in_reasoning) == (0, 0)


def leaky_rewrite() -> list[tuple[str, str, str]]:
    """A faithful rewrite whose model wrote a phone number into a customer turn."""
    turns = rewrite_zh()
    turns[3] = ("客户", "", f"卡号是[银行卡号]，手机{PHONE}")
    return turns


def test_the_stage_stores_and_judges_only_masked_text(tmp_path):
    endpoint = Scripted([answer(leaky_rewrite())])
    o = run_stage(tmp_path, endpoint, SOURCE_ZH)
    assert o.status == "kept", o.reason
    assert o.rewrite["turns"][3]["text"] == "卡号是[银行卡号]，手机[手机号码]"
    assert o.rules.turns[3].text == "卡号是[银行卡号]，手机[手机号码]"
    assert (o.rewrite["pii_masked"], o.rewrite["pii_masked_reasoning"]) == (1, 0)
    [judge_messages] = endpoint.calls(Role.POSTFILTER_JUDGE)
    assert PHONE not in json.dumps(judge_messages, ensure_ascii=False)
    assert "[手机号码]" in judge_messages[-1]["content"]


def test_the_count_is_stored_and_reported_in_the_funnel(tmp_path, warehouse):
    kept = run_stage(tmp_path, Scripted([answer(leaky_rewrite())]), SOURCE_ZH)
    clean = run_stage(tmp_path, Scripted([answer(rewrite_zh())]), SOURCE_ZH)
    clean.dialogue_id = "d2"
    tables = outcome_rows([kept, clean], {"zh": "v1"}, {}, "run-1")
    assert [r["pii_masked"] for r in tables["csconv.rewrites"]] == [1, 0]
    with connect(warehouse) as con:
        write_outcomes(con, tables)
        stored = query(con, "SELECT dialogue_id, pii_masked, pii_masked_reasoning, "
                            "faithfulness > 0.9 FROM csconv.rewrites ORDER BY 1")
        numbers = funnel_numbers(con)
    assert stored == [("d1", 1, 0, True), ("d2", 0, 0, True)]
    assert numbers["pii"] == [(1, 1, 0)]
    report = render(numbers, simulator=False)
    assert ("PII the masker caught in rewrites before storage: 1 spans in the turns of 1 "
            "rewrites; 0 in their reasoning.") in report.splitlines()


def test_the_quick_check_sees_every_text_the_masker_would_change():
    """mask_rewrite skips the masker when pii.may_hold_pii says no text may hold PII: that is
    only right if the masker leaves every such text as it is."""
    import polars as pl

    from csc.pii import mask_frame, may_hold_pii

    texts = ["您好，请问有什么可以帮您？", "Call me on +44 7700 900123", "电话13812345678",
             "mail a.b@example.com", "see https://x.io/a", "visit www.example.com",
             "order 123-45", "zero\u200bwidth 1380013\u200b8000", "tab\there", "",
             "[PHONE] and [EMAIL] only", "1234567", "12 34 56 7", "ＡＢＣ１２３４５６７"]
    frame = mask_frame(pl.DataFrame({"text": texts, "language": ["zh"] * len(texts)}))
    for text, masked, n in zip(texts, frame["text"], frame["pii_masked"], strict=True):
        if not may_hold_pii(text):
            assert (masked, n) == (text, 0), text
    assert not may_hold_pii("您好，请问有什么可以帮您？")
    assert all(may_hold_pii(t) for t in ("电话13812345678", "a.b@example.com", "x://y"))
