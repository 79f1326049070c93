"""The RoleCS stage end to end: personas into a real DuckDB file, the Prefect flow, real HTTP to
the simulator; batches, reruns, and a kill -9 in the middle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import journal_calls
from kill9 import killed_after_calls

from csc.llm.journal import Journal
from csc.rolecs.intake import SAMPLE_PERSONAS, load_persona_file
from csc.rolecs.service import mark_near_duplicates
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, query

TABLES = {
    "rolecs.scenarios": "dialogue_id, scenario_id, persona_id, topic, persona_description, "
                        "scenario, goal",
    "rolecs.dialogues": "dialogue_id, status, stop_reason, n_utterances, judge_passed, "
                        "notes::VARCHAR",
    "rolecs.utterances": "dialogue_id, utt_index, speaker, strategy_id, direction, text",
    "rolecs.judgements": "dialogue_id, strategy_adherence, unreasonable_requests, "
                         "natural_replies, varied_expression, role_consistent, passed",
}


def snapshot(db: Path) -> dict[str, list[tuple]]:
    with connect(db) as con:
        return {t: query(con, f"SELECT {c} FROM {t} ORDER BY ALL") for t, c in TABLES.items()}


def check_accepted(db: Path, max_utterances: int = 50) -> int:
    """The acceptance rules of the method over every accepted dialogue; how many there are."""
    with connect(db) as con:
        accepted = query(con, "SELECT dialogue_id, n_utterances FROM rolecs.dialogues "
                              "WHERE status = 'accepted'")
        for did, n in accepted:
            turns = query(con, "SELECT speaker, strategy_id FROM rolecs.utterances "
                               "WHERE dialogue_id = ? ORDER BY utt_index", [did])
            assert len(turns) == n <= max_utterances
            assert turns[0] == ("supporter", 1)  # opens with a Greeting
            ids = [s for who, s in turns if who == "supporter"]
            assert all(not (a == b == c) for a, b, c in zip(ids, ids[1:], ids[2:], strict=False))
            assert all(1 <= s <= 12 for s in ids)
            verdict = query(con, "SELECT strategy_adherence AND unreasonable_requests AND "
                                 "natural_replies AND varied_expression AND role_consistent "
                                 "AND passed FROM rolecs.judgements WHERE dialogue_id = ?",
                            [did])
            assert verdict == [(True,)]
    return len(accepted)


@pytest.mark.prefect
def test_a_batch_is_drawn_once_and_a_rerun_asks_nothing(warehouse, llm_env, prefect_server):
    from flows.rolecs import rolecs

    with run_in_thread(SimConfig(seed=5)) as sim:
        llm_env(sim)
        first = rolecs(per_language=3, batch="b1", batch_size=2)
        assert first["input"] == 6 == sum(first[k] for k in ("kept", "rejected", "dead",
                                                              "deferred"))
        assert first["personas"]["file"]["new"] >= 64
        calls = journal_calls()
        again = rolecs(per_language=3, batch="b1")
        assert again["input"] == 0 and journal_calls() == calls  # no LLM call at all
        other = rolecs(per_language=2, batch="b2")
        assert other["input"] == 4
    with connect(warehouse) as con:
        per_batch = query(con, "SELECT batch, language, count(*) FROM rolecs.requests "
                               "GROUP BY ALL ORDER BY ALL")
        assert per_batch == [("b1", "en", 3), ("b1", "zh", 3), ("b2", "en", 2),
                             ("b2", "zh", 2)]
        # b2 drew the next scenarios, none of b1's
        assert query(con, "SELECT count(DISTINCT scenario_id), count(*) FROM rolecs.dialogues"
                     ) == [(10, 10)]
        # every dialogue is in the language of its persona, on one of its language's topics
        assert query(con, "SELECT count(*) FROM rolecs.dialogues d JOIN rolecs.personas p "
                          "USING (persona_id) WHERE d.language <> p.language") == [(0,)]
    assert check_accepted(warehouse) >= 1


@pytest.mark.prefect
def test_kill_9_mid_stage_then_rerun_matches_an_uninterrupted_run(
        tmp_path, warehouse, llm_env, prefect_server, monkeypatch):
    from flows.rolecs import rolecs

    with run_in_thread(SimConfig(seed=9, latency_ms=20)) as sim:
        llm_env(sim)
        with killed_after_calls("""
                from flows.rolecs import rolecs
                rolecs(per_language=3, batch="night-1", batch_size=1)
                """, 60, tmp_path / "child.log"), \
                monkeypatch.context() as clean:  # meanwhile, the uninterrupted run
            clean.setenv("CSC_WAREHOUSE", str(tmp_path / "clean.duckdb"))
            clean.setenv("CSC_LLM_CACHE", str(tmp_path / "clean-cache.sqlite"))
            rolecs(per_language=3, batch="night-1", batch_size=1)
        rolecs(per_language=3, batch="night-1", batch_size=1)  # the rerun
        journal = Journal(Path(os.environ["CSC_LLM_CACHE"]))
        repeated = journal.count(
            "(SELECT prompt_hash FROM calls WHERE status = 'ok' GROUP BY 1 HAVING count(*) > 1)")
        journal.close()
        assert repeated == 0  # no completed call was made twice
    killed, clean = snapshot(warehouse), snapshot(tmp_path / "clean.duckdb")
    assert len(clean["rolecs.dialogues"]) == 6
    assert killed == clean  # same scenarios, turns, verdicts: no turn lost or repeated
    with connect(warehouse) as con:
        orphans = query(con, "SELECT count(*) FROM rolecs.utterances u WHERE NOT EXISTS "
                             "(SELECT 1 FROM rolecs.dialogues d WHERE d.dialogue_id = u.dialogue_id)")
    assert orphans == [(0,)]


def test_every_persona_read_is_stored_or_rejected_with_its_reason(warehouse, tmp_path):
    good = {"persona_id": "t-1", "language": "en", "age": 30, "occupation": "nurse",
            "region": "Leeds", "temperament": "calm", "communication_style": "brief",
            "financial_literacy": "medium"}
    lines = [json.dumps(good), "not json", json.dumps({**good, "persona_id": "t-2", "age": 7}),
             json.dumps({**good, "persona_id": "t-3", "language": "fr"}),
             json.dumps({**good, "persona_id": "t-1", "region": "York"})]
    path = tmp_path / "personas.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = load_persona_file(path)
    assert first == {"read": 5, "new": 1, "present": 0, "rejected": 4}
    assert load_persona_file(path) == {"read": 5, "new": 0, "present": 1, "rejected": 4}
    # a stored persona is never changed: the same id with another profile is refused
    path.write_text(json.dumps({**good, "occupation": "pilot"}) + "\n", encoding="utf-8")
    assert load_persona_file(path) == {"read": 1, "new": 0, "present": 0, "rejected": 1}
    with connect(warehouse) as con:
        assert query(con, "SELECT persona_id, profile->>'occupation' FROM rolecs.personas") == \
            [("t-1", "nurse")]
        rejects = query(con, "SELECT line_no, persona_id, reason FROM rolecs.persona_rejects")
    assert rejects == [(None, "t-1", "persona_id already stored with another profile or "
                                     "language; a stored persona is never changed")]


def test_the_bundled_personas_load_without_a_reject(warehouse):
    counts = load_persona_file(SAMPLE_PERSONAS)
    assert counts["rejected"] == 0 and counts["new"] == counts["read"] >= 64
    with connect(warehouse) as con:
        assert dict(query(con, "SELECT language, count(*) FROM rolecs.personas GROUP BY 1")
                    ).keys() == {"zh", "en"}


def test_the_accepted_dialogues_export_in_the_released_shape(warehouse, llm_env, tmp_path,
                                                              capsys):
    from cli.main import main
    from csc.kit import runner
    from csc.rolecs.stage import RolecsStage

    load_persona_file(SAMPLE_PERSONAS)
    with run_in_thread(SimConfig(seed=5)) as sim:
        llm_env(sim)
        runner.run_all(RolecsStage.ref(batch="x").build(), "run-x", limit=3)
    with connect(warehouse) as con:
        mark_near_duplicates(con)  # the accepted set is the checked one
        accepted = dict(query(con, "SELECT language, count(*) FROM marts.rolecs_accepted "
                                   "GROUP BY 1"))
    out = tmp_path / "rolecs.jsonl"
    assert main(["export", "rolecs", "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == sum(accepted.values()) >= 1
    for r in records:
        first = r["dialogue"][0]
        if r["language"] == "zh":
            assert (first["speaker"], first["strategy"]) == ("客服", "策略1 礼貌问候")
            assert r["source"] in ("产品咨询", "营销与推广", "账户与交易管理", "理财咨询与规划",
                                   "风险管理与安全", "投诉与纠纷", "技术支持与线上服务")
        else:
            assert (first["speaker"], first["strategy"]) == ("agent", "Strategy 1 Greeting")
        assert all(t["strategy"] == "" for t in r["dialogue"] if t["speaker"] in ("客户",
                                                                                 "customer"))
    meta = json.loads((tmp_path / "rolecs.jsonl.meta.json").read_text(encoding="utf-8"))
    assert meta["dataset"] == "rolecs" and meta["simulator"] is True
    assert "simulator" in capsys.readouterr().err.lower()
    assert main(["export", "rolecs", "--language", "en", "--labels", "zh",
                 "--out", str(tmp_path / "en.json"), "--format", "json"]) == \
        (0 if accepted.get("en") else 1)  # 1: nothing to export
    en = json.loads((tmp_path / "en.json").read_text(encoding="utf-8"))
    assert len(en) == accepted.get("en", 0)
    assert all(r["dialogue"][0]["speaker"] == "客服" for r in en)
