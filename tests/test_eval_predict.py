"""Evaluation predictions: the prediction stage on the kit against the simulator over real HTTP
into a real DuckDB file (a rerun asks nothing, a new dialogue is the only new work, an
unreadable answer is a counted failure, a kill -9 mid-run loses nothing). The pure parts are
in tests/test_eval_units.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import CSCONV_EN, CSCONV_ZH, csconv_dialogue, journal_calls

from csc.llm.journal import Journal
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, query

# ---- the stage against the simulator ------------------------------------------------------




def test_the_stage_predicts_what_is_missing_and_a_rerun_asks_nothing(warehouse, llm_env):
    from csc.eval.predict import PredictionStage
    from csc.kit import runner

    with connect(warehouse) as con:
        csconv_dialogue(con, "c1", "zh", CSCONV_ZH)
        csconv_dialogue(con, "c2", "en", CSCONV_EN)
    with run_in_thread(SimConfig(seed=3)) as sim:
        llm_env(sim)
        model = os.environ["CSC_LLM_MODEL"]
        counts = {}
        for setting in ("reference", "generated"):
            stage = PredictionStage.ref(model=model, setting=setting).build()
            counts[setting] = runner.run_all(stage, "r1")
            assert counts[setting].kept == 2 and counts[setting].reconciles
        calls = journal_calls()
        with connect(warehouse) as con:
            rows = query(con, "SELECT count(*) FROM eval.predictions")[0][0]
        assert rows == 2 * (4 + 3)  # both settings, every supporter turn
        again = runner.run_all(PredictionStage.ref(model=model, setting="reference").build(),
                               "r2")
        assert again.input == 0 and journal_calls() == calls  # unchanged: no LLM call at all
        with connect(warehouse) as con:
            assert query(con, "SELECT count(*) FROM eval.predictions")[0][0] == rows
            csconv_dialogue(con, "c3", "en", CSCONV_EN[:3])
        more = runner.run_all(PredictionStage.ref(model=model, setting="reference").build(),
                              "r3")
        assert more.input == 1 and more.kept == 1  # only the new dialogue
    with connect(warehouse) as con:
        assert query(con, "SELECT count(*) FROM eval.predictions")[0][0] == rows + 2
        runs = query(con, "SELECT model, kind, setting FROM eval.runs ORDER BY setting")
        assert runs == [(model, "simulator", "generated"), (model, "simulator", "reference")]
        gold = query(con, "SELECT utt_index, gold_strategy, gold_text FROM eval.predictions "
                          "WHERE csconv_id = 'c1' ORDER BY run_key, utt_index LIMIT 4")
        assert gold == [(0, 1, CSCONV_ZH[0][2]), (2, 2, CSCONV_ZH[2][2]), (4, 7, CSCONV_ZH[4][2]), (6, 11, CSCONV_ZH[6][2])]


def test_an_unreadable_answer_is_a_counted_failure_not_a_skipped_turn(warehouse, llm_env,
                                                                     monkeypatch):
    from csc.eval.predict import PredictionStage
    from csc.kit import runner

    monkeypatch.setenv("CSC_LLM_MAX_REASKS", "1")
    with connect(warehouse) as con:
        csconv_dialogue(con, "c2", "en", CSCONV_EN)
    with run_in_thread(SimConfig(seed=4, rate_malformed=1.0)) as sim:
        llm_env(sim)
        stage = PredictionStage.ref(model=os.environ["CSC_LLM_MODEL"],
                                    setting="reference").build()
        counts = runner.run_all(stage, "r1")
    assert counts.kept == 1 and counts.dead == 0
    with connect(warehouse) as con:
        rows = query(con, "SELECT utt_index, parse_status, pred_strategy, pred_text, "
                          "error IS NOT NULL FROM eval.predictions ORDER BY utt_index")
    assert rows == [(0, "failed", None, None, True), (2, "failed", None, None, True),
                    (4, "failed", None, None, True)]


@pytest.mark.prefect
def test_kill_9_mid_evaluation_then_rerun_matches_an_uninterrupted_run(
        tmp_path, warehouse, llm_env, prefect_server, monkeypatch):
    from kill9 import killed_after_calls

    from flows.evaluate import evaluate

    def seed(db: Path) -> None:
        with connect(db) as con:
            csconv_dialogue(con, "c1", "zh", CSCONV_ZH)
            csconv_dialogue(con, "c2", "en", CSCONV_EN)
            csconv_dialogue(con, "c3", "zh", CSCONV_ZH[:5])

    seed(warehouse)
    seed(tmp_path / "clean.duckdb")
    with run_in_thread(SimConfig(seed=9, latency_ms=20)) as sim:
        llm_env(sim)
        model = os.environ["CSC_LLM_MODEL"]
        run = f"""
            from flows.evaluate import evaluate
            evaluate(models=[{model!r}], batch_size=1)
            """
        with killed_after_calls(run, 6, tmp_path / "child.log"), \
                monkeypatch.context() as clean:  # meanwhile, the uninterrupted run
            clean.setenv("CSC_WAREHOUSE", str(tmp_path / "clean.duckdb"))
            clean.setenv("CSC_LLM_CACHE", str(tmp_path / "clean-cache.sqlite"))
            evaluate(models=[model], batch_size=1)
        evaluate(models=[model], batch_size=1)  # the rerun
        journal = Journal(Path(os.environ["CSC_LLM_CACHE"]))
        repeated = journal.count(
            "(SELECT prompt_hash FROM calls WHERE status = 'ok' GROUP BY 1 HAVING count(*) > 1)")
        journal.close()
        assert repeated == 0  # no completed call was made twice

    def rows(db: Path) -> list[tuple]:
        with connect(db) as con:
            return query(con, "SELECT r.model, r.setting, p.csconv_id, p.utt_index, "
                              "p.pred_strategy, p.pred_text, p.parse_status FROM "
                              "eval.predictions p JOIN eval.runs r USING (run_key) ORDER BY ALL")
    killed, clean = rows(warehouse), rows(tmp_path / "clean.duckdb")
    assert len(clean) == 2 * (4 + 3 + 3)  # both settings, every supporter turn
    assert killed == clean
