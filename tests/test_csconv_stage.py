"""The CSConv stage end to end: Prefect flow, real HTTP to the simulator, a real DuckDB file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import count
from kill9 import killed_after_calls

from csc.ingest.service import ingest_path
from csc.language import detect
from csc.metrics.overlap import containment
from csc.paths import PROJECT_ROOT, SAMPLES
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, query

pytestmark = pytest.mark.prefect

CSCONV_TABLES = ("csconv.dialogues", "csconv.utterances", "csconv.rejects",
                 "csconv.llm_prefilter", "csconv.rewrites", "csconv.judgements")


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Table contents without run ids and timestamps, for comparing two runs."""
    cols = {
        "csconv.dialogues": "csconv_id, dialogue_id, pipeline_version, n_utterances, "
                            "strategy_use",
        "csconv.utterances": "csconv_id, utt_index, speaker, strategy_id, text",
        "csconv.rejects": "dialogue_id, pipeline_version, step, reason",
        "csconv.llm_prefilter": "dialogue_id, low_quality, reason",
        "csconv.rewrites": "dialogue_id, turns::VARCHAR, reasoning, trimmed",
        "csconv.judgements": "dialogue_id, quality, reason",
    }
    with connect(db) as con:
        return {t: query(con, f"SELECT {c} FROM {t} ORDER BY ALL") for t, c in cols.items()}


def check_invariants(db: Path, lo: int = 10, hi: int = 50) -> None:
    with connect(db) as con:
        bad_alt = query(con, """
            SELECT count(*) FROM (SELECT speaker, lag(speaker) OVER (PARTITION BY csconv_id
            ORDER BY utt_index) AS prev FROM csconv.utterances) WHERE speaker = prev""")[0][0]
        bad_ids = query(con, "SELECT count(*) FROM csconv.utterances WHERE speaker='supporter' "
                             "AND (strategy_id IS NULL OR strategy_id NOT BETWEEN 1 AND 12)")[0][0]
        multi = query(con, "SELECT count(*) FROM csconv.utterances "
                           "WHERE strategy_label LIKE '%+%'")[0][0]
        missing = query(con, """
            SELECT count(*) FROM csconv.dialogues c WHERE 3 > (SELECT count(DISTINCT strategy_id)
            FROM csconv.utterances u WHERE u.csconv_id = c.csconv_id
            AND strategy_id IN (1, 2, 11))""")[0][0]
        sizes = query(con, "SELECT min(n_utterances), max(n_utterances), "
                           "bool_and(n_utterances = (SELECT count(*) FROM csconv.utterances u "
                           "WHERE u.csconv_id = c.csconv_id)) FROM csconv.dialogues c")[0]
    assert (bad_alt, bad_ids, multi, missing) == (0, 0, 0, 0)
    assert lo <= sizes[0] and sizes[1] <= hi and sizes[2]


def reconcile(db: Path) -> dict[str, int]:
    """Every rule-passed dialogue: kept, rejected, or dead-lettered (nothing pending)."""
    with connect(db) as con:
        n_in = query(con, "SELECT count(*) FROM marts.prefilter_latest WHERE passed")[0][0]
        kept = query(con, "SELECT count(*) FROM marts.csconv_current")[0][0]
        rejected = query(con, "SELECT count(*) FROM marts.csconv_outcomes "
                              "WHERE outcome = 'rejected'")[0][0]
        dead = query(con, "SELECT count(*) FROM marts.csconv_dead_lettered")[0][0]
    assert n_in == kept + rejected + dead, (n_in, kept, rejected, dead)
    return {"in": n_in, "kept": kept, "rejected": rejected, "dead": dead}


# How much of the source's customer text a kept rewrite must contain, as character trigrams
# (csc.metrics.overlap; n-grams within a turn, never across turns). The simulated rewriter
# (simulator/rewrite.py) copies every customer segment of the source verbatim into a
# customer turn of the rewrite, merging neighbours when there are more than 9 (no trigram
# lost), so a faithful rewrite scores 1.0. The one exception: a source with a lone customer
# turn of 4+ clauses is cut in two and re-punctuated, which can lose the <= 3 trigrams that
# span each clause separator; with clauses of 9+ characters that still leaves >= 0.75.
# Unrelated dialogues score far lower: <= 0.2 between different Chinese samples, <= 0.7
# between the near-duplicate English ones, 0.0 for a rewrite in the other language.
FAITHFUL_TRIGRAMS = 0.75


def kept_rewrites(db: Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(dialogue_id, source language, the source's customer turns, the rewrite's turns) of
    every kept rewrite."""
    with connect(db) as con:
        return query(con, """
            WITH rew AS (
                SELECT c.dialogue_id, list(u.text ORDER BY u.utt_index) AS turns
                FROM marts.csconv_current c JOIN csconv.utterances u USING (csconv_id)
                GROUP BY 1),
            src AS (
                SELECT dialogue_id, list(text ORDER BY utt_index) AS customer
                FROM raw.utterances WHERE speaker = 'customer' GROUP BY 1)
            SELECT rew.dialogue_id, d.language, coalesce(src.customer, []), rew.turns
            FROM rew JOIN raw.dialogues d USING (dialogue_id)
            LEFT JOIN src USING (dialogue_id) ORDER BY 1""")


def unfaithful(db: Path) -> dict[str, str]:
    """Kept rewrites not in their source's language (csc.language.detect, as at ingest) or not
    carrying their source's customer text, with why."""
    bad = {}
    for dialogue_id, language, customer, turns in kept_rewrites(db):
        found = detect("\n".join(turns))
        share = containment(customer, turns, n=3)
        if found != language:
            bad[dialogue_id] = f"in {found}, its source is in {language}"
        elif customer and share < FAITHFUL_TRIGRAMS:
            bad[dialogue_id] = f"holds {share:.0%} of its source's customer text"
    return bad


def test_csconv_on_the_samples_is_complete_idempotent_and_exported(
        warehouse, llm_env, prefect_server, tmp_path):
    from cli.main import main
    from flows.csconv import csconv

    ingest_path(SAMPLES, "ingest-run", db=warehouse)
    with run_in_thread(SimConfig(seed=3)) as sim:
        llm_env(sim)
        summary = csconv(batch_size=8)
        counts = reconcile(warehouse)
        assert counts["kept"] > 0 and counts["rejected"] > 0 and counts["dead"] == 0
        assert summary["kept"] == counts["kept"] and summary["funnel"]["reconciles"]
        # 16 = 9 expectations on csconv_utterances (with no unmasked PII) + 7 on csconv_dialogues
        assert summary["quality"] == {"success": True, "expectations": 16, "failed": 0}
        assert count(warehouse, "SELECT count(*) FROM ops.quality_checks WHERE success") == 16
        check_invariants(warehouse)
        assert unfaithful(warehouse) == {}
        served, rows = sim.stats()["requests"], snapshot(warehouse)
        assert count(warehouse, "SELECT count(*) FROM csconv.annotations "
                                "WHERE target_kind = 'raw'") > 0
        # 13 = one overall row + one row per strategy 1-12 (written even when unused)
        assert count(warehouse, "SELECT count(*) FROM marts.label_agreement_latest") == 13

        again = csconv(batch_size=8)  # nothing pending: zero calls, zero rows
        assert sim.stats()["requests"] == served and snapshot(warehouse) == rows
        assert again["input"] == 0 and again["annotated_dialogues"] == 0
        # the same turns measured again: the agreement is not stored a second time
        assert summary["agreement"]["recorded"] and not again["agreement"]["recorded"]
        assert count(warehouse, "SELECT count(*) FROM csconv.label_agreement") == 13
    report = Path(summary["funnel"]["report"]).read_text(encoding="utf-8")
    assert "simulator" in report and "(f) strict speaker alternation" in report
    out = tmp_path / "csconv.jsonl"
    assert main(["export", "csconv", "--format", "jsonl", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == counts["kept"]
    # every exported dialogue greets somewhere (step e), labelled in its own language (§6 shape
    # for zh, 'Strategy N Name' for en); where the greeting falls is the rewrite's choice
    for line in lines:
        zh = json.loads(line)["language"] == "zh"
        assert ('"strategy": "策略1 礼貌问候"' if zh else '"strategy": "Strategy 1 Greeting"') \
            in line
    meta = json.loads((tmp_path / "csconv.jsonl.meta.json").read_text(encoding="utf-8"))
    assert meta["simulator"] is True and meta["dialogues"] == counts["kept"]


def test_injected_faults_leave_every_dialogue_accounted_for(warehouse, llm_env, prefect_server):
    from flows.csconv import csconv

    ingest_path(SAMPLES, "ingest-run", db=warehouse)
    config = SimConfig(seed=5).with_fault_rate(0.2)
    with run_in_thread(config.model_copy(update={"retry_after_s": 0.01})
                       if hasattr(config, "model_copy") else config) as sim:
        llm_env(sim)
        os.environ["CSC_LLM_MAX_ATTEMPTS"] = "3"
        try:
            csconv(batch_size=16, annotate_raw=False)
        finally:
            del os.environ["CSC_LLM_MAX_ATTEMPTS"]
    counts = reconcile(warehouse)
    assert counts["kept"] + counts["rejected"] > 0
    check_invariants(warehouse)
    # content, not only counts: what was kept is a rewrite of its own source, in its language
    assert not unfaithful(warehouse)  # re-asked rewrites included


def test_kill_9_mid_stage_then_rerun_matches_an_uninterrupted_run(
        tmp_path, warehouse, llm_env, prefect_server, monkeypatch):
    """The uninterrupted run (its own warehouse and cache, the same simulator) goes in this
    process while the child starts up and makes its 25 calls: the child's environment was
    fixed when it started, it then stays frozen until killed, and the two share no file."""
    from csc.llm.journal import Journal
    from flows.csconv import csconv

    clean_db = tmp_path / "clean.duckdb"
    ingest_path(SAMPLES, "ingest-run", db=warehouse)
    ingest_path(SAMPLES, "ingest-run", db=clean_db)
    with run_in_thread(SimConfig(seed=11, latency_ms=40)) as sim:
        llm_env(sim)
        cache = Path(os.environ["CSC_LLM_CACHE"])
        with killed_after_calls("""
                from flows.csconv import csconv
                csconv(batch_size=4, annotate_raw=False)
                """, 25, tmp_path / "child.log"), \
                monkeypatch.context() as clean:  # meanwhile, the uninterrupted run
            clean.setenv("CSC_WAREHOUSE", str(clean_db))
            clean.setenv("CSC_LLM_CACHE", str(tmp_path / "clean-cache.sqlite"))
            csconv(batch_size=4, annotate_raw=False)
        assert os.environ["CSC_LLM_CACHE"] == str(cache)
        journal = Journal(cache)
        done_before = journal.count("calls", "status = 'ok'")
        assert done_before == 25
        csconv(batch_size=4, annotate_raw=False)  # the rerun
        assert journal.count("calls", "status = 'ok'") > done_before  # work was left to do
        repeated = journal.count(
            "(SELECT prompt_hash FROM calls WHERE status = 'ok' GROUP BY 1 HAVING count(*) > 1)")
        journal.close()
        assert repeated == 0  # no completed call was made twice
    assert snapshot(warehouse) == snapshot(clean_db)
    reconcile(warehouse)


@pytest.mark.corpus
def test_stc3_chinese_test_file_runs_offline_and_reconciles(stc3, warehouse, llm_env,
                                                             prefect_server):
    from flows.csconv import csconv

    ingest_path(stc3 / "test_data_cn.json", "ingest-run", source="stc3", db=warehouse)
    with run_in_thread(SimConfig(seed=2)) as sim:
        llm_env(sim)
        csconv(batch_size=64, annotate_raw=False)
    counts = reconcile(warehouse)
    assert counts["in"] > 50 and counts["kept"] > 0
    check_invariants(warehouse)
    assert unfaithful(warehouse) == {}


def test_a_prompt_change_reprocesses_only_what_it_affects(
        warehouse, llm_env, prefect_server, tmp_path, monkeypatch):
    import shutil

    from flows.csconv import csconv

    prompts = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    monkeypatch.setenv("CSC_PROMPTS_DIR", str(prompts))
    ingest_path(SAMPLES, "ingest-run", db=warehouse)
    with run_in_thread(SimConfig(seed=3)) as sim:
        llm_env(sim)
        csconv(batch_size=16, annotate_raw=False)
        with connect(warehouse) as con:
            judged_zh = query(con, "SELECT count(*) FROM csconv.judgements j JOIN raw.dialogues "
                                   "d USING (dialogue_id) WHERE d.language = 'zh'")[0][0]
            en_rows = query(con, "SELECT count(*) FROM csconv.rejects r JOIN raw.dialogues d "
                                 "USING (dialogue_id) WHERE d.language = 'en'")[0][0]
        before = sim.stats()["by_role"]
        judge = prompts / "postfilter_judge.zh.md"
        judge.write_text(judge.read_text(encoding="utf-8") + "\n请严格评估。\n", encoding="utf-8")
        csconv(batch_size=16, annotate_raw=False)
        after = sim.stats()["by_role"]
    # only the zh judge calls were made again; pre-filter and rewrite answers came from the cache
    assert after.get("postfilter_judge", 0) - before.get("postfilter_judge", 0) == judged_zh > 0
    assert after.get("rewriter") == before.get("rewriter")
    assert after.get("prefilter_judge") == before.get("prefilter_judge")
    with connect(warehouse) as con:
        en_after = query(con, "SELECT count(*) FROM csconv.rejects r JOIN raw.dialogues d "
                              "USING (dialogue_id) WHERE d.language = 'en'")[0][0]
    assert en_after == en_rows  # English dialogues were not touched
    reconcile(warehouse)
