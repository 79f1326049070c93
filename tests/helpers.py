"""Small builders for test input files."""

from __future__ import annotations

import json
from pathlib import Path

from csc.ingest.service import ingest_file
from csc.ingest.sources import load_source
from warehouse.db import connect, insert_rows, query, transaction

GOOD_ZH = [
    ("客户", "你好，我的银行卡昨天被锁了，登录不上手机银行"),
    ("客服", "您好，很高兴为您服务，请问您怎么称呼？"),
    ("客户", "我姓王，卡号尾号是1234"),
    ("客服", "王先生您好，请提供一下预留手机号，我帮您核实身份"),
    ("客户", "手机号是13812345678，麻烦快一点"),
    ("客服", "好的已核实，您的卡因为密码连续输错被临时锁定了"),
    ("客户", "那怎么解锁呢，我今天还要转账"),
    ("客服", "您可以在手机银行里点安全中心，选择解锁并重置密码"),
    ("客户", "好的我试一下，谢谢你们的帮助"),
    ("客服", "不客气，感谢您的来电，祝您生活愉快"),
]


def dialogue(did: str, turns: list[tuple[str, str]] = GOOD_ZH, **extra) -> dict:
    return {"id": did, "turns": [{"speaker": s, "text": t} for s, t in turns], **extra}


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest(path: Path, db: Path, source: str = "jsonl", run_id: str = "run-test", **kw):
    cfg = load_source(source)
    return ingest_file(path, cfg, run_id, db=db, **kw)


def count(db: Path, sql: str) -> int:
    with connect(db) as con:
        return query(con, sql)[0][0]


def query_all(db: Path, sql: str) -> list[tuple]:
    with connect(db) as con:
        return query(con, sql)


def llm_settings(base_url: str, cache: Path) -> dict[str, str]:
    """The settings that send every LLM role to a running simulator, with its own cache."""
    return {"CSC_LLM_BASE_URL": base_url, "CSC_LLM_API_KEY": "sim-key",
            "CSC_LLM_MODEL": "sim-default", "CSC_LLM_CACHE": str(cache), "CSC_LLM_TIMEOUT": "2"}


def point_llm_at(mp, base_url: str, cache: Path) -> None:
    """Send every LLM role to a running simulator over real HTTP, with its own cache."""
    for name, value in llm_settings(base_url, cache).items():
        mp.setenv(name, value)


def journal_calls() -> int:
    """Calls in the LLM journal that CSC_LLM_CACHE names: a rerun that asks nothing adds none."""
    import os

    from csc.llm.journal import Journal

    journal = Journal(Path(os.environ["CSC_LLM_CACHE"]))
    try:
        return journal.count("calls")
    finally:
        journal.close()


# Two small CSConv dialogues (speaker, strategy id, text) the evaluation tests predict on.
CSCONV_ZH = [("supporter", 1, "您好，请问有什么可以帮您？"), ("customer", None, "我的信用卡被锁了"),
             ("supporter", 2, "请提供您的身份证后四位"), ("customer", None, "1234"),
             ("supporter", 7, "已经为您解锁"), ("customer", None, "谢谢"),
             ("supporter", 11, "感谢来电，再见")]
CSCONV_EN = [("supporter", 1, "Hello, how can I help?"), ("customer", None, "My card is blocked"),
             ("supporter", 4, "Which card is it?"), ("customer", None, "The visa"),
             ("supporter", 11, "It is unblocked, goodbye")]


def csconv_dialogue(con, cid: str, lang: str, turns: list[tuple[str, int | None, str]]) -> None:
    """A kept CSConv dialogue of `turns`, written as the CSConv stage writes one."""
    with transaction(con):
        insert_rows(con, "csconv.dialogues", [{
            "csconv_id": cid, "dialogue_id": f"raw-{cid}", "pipeline_version": "v1",
            "language": lang, "business_area": None, "n_utterances": len(turns),
            "n_supporter": sum(s == "supporter" for s, _, _ in turns), "strategy_use": 1.0,
            "rewriter_model": "m", "rewrite_prompt": "p", "judge_model": "m", "run_id": "r"}])
        insert_rows(con, "csconv.utterances", [
            {"csconv_id": cid, "utt_index": i, "speaker": s, "strategy_id": sid,
             "strategy_label": None, "stage": None, "text": t}
            for i, (s, sid, t) in enumerate(turns)], stamp=None)


def rolecs_accepted(con, dialogues: list, status: str = "accepted",
              duplicate_of: str | None = None) -> None:
    """Dialogues as the RoleCS stage and the near-duplicate check leave them."""
    rows, checks, utterances = [], [], []
    for d in dialogues:
        rows.append({"dialogue_id": d.dialogue_id, "scenario_id": d.dialogue_id,
                     "version": "v1", "language": d.language, "persona_id": "p",
                     "topic": "t", "status": status, "stop_reason": "closure",
                     "n_utterances": len(d.turns),
                     "n_supporter": sum(t.speaker == "supporter" for t in d.turns),
                     "judge_passed": status == "accepted", "notes": "[]", "run_id": "r"})
        checks.append({"dialogue_id": d.dialogue_id, "kind": None,
                       "duplicate_of": duplicate_of, "similarity": None, "threshold": 0.8})
        utterances += [{"dialogue_id": d.dialogue_id, "utt_index": i, "speaker": t.speaker,
                        "strategy_id": t.strategy_id, "stage": None, "direction": None,
                        "text": t.text, "reasoning": None, "model": "m",
                        "prompt_version": "p"} for i, t in enumerate(d.turns)]
    with transaction(con):
        insert_rows(con, "rolecs.dialogues", rows)
        insert_rows(con, "rolecs.near_duplicates", checks, "checked_at")
        insert_rows(con, "rolecs.utterances", utterances, stamp=None)
