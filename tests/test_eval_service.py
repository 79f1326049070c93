"""The evaluation service over a real DuckDB file: metrics only for runs whose predictions
changed, the leaderboard and its significance marks, and the report rebuilt from the stored
metrics (no LLM: predictions are written as the stage would write them)."""

from __future__ import annotations

import json
import random

import pytest

from csc.eval import service
from csc.eval.types import Evaluation, MetricValue, StrategyScore
from warehouse.db import connect, insert_rows, query, query_dicts, transaction

SETTING = "reference"


def _csconv(con, n: int) -> None:
    """n English dialogues of 4 supporter turns each (strategies cycle 1, 4, 7, 11)."""
    dialogues, utterances = [], []
    for d in range(n):
        cid = f"c{d:03d}"
        dialogues.append({"csconv_id": cid, "dialogue_id": f"raw-{cid}",
                          "pipeline_version": "v1", "language": "en", "business_area": None,
                          "n_utterances": 8, "n_supporter": 4, "strategy_use": 1.0,
                          "rewriter_model": "m", "rewrite_prompt": "p", "judge_model": "m",
                          "run_id": "r"})
        for i, sid in enumerate((1, 4, 7, 11)):
            utterances += [
                {"csconv_id": cid, "utt_index": 2 * i, "speaker": "supporter",
                 "strategy_id": sid, "strategy_label": None, "stage": None,
                 "text": f"reply number {i} for dialogue {d}"},
                {"csconv_id": cid, "utt_index": 2 * i + 1, "speaker": "customer",
                 "strategy_id": None, "strategy_label": None, "stage": None, "text": "ok"}]
    with transaction(con):
        insert_rows(con, "csconv.dialogues", dialogues)
        insert_rows(con, "csconv.utterances", utterances, stamp=None)


def _run(con, key: str, model: str, right: float, seed: int, dialogues: range) -> None:
    """A run whose strategy is right with probability `right`."""
    rng = random.Random(seed)
    rows = []
    for d in dialogues:
        for i, sid in enumerate((1, 4, 7, 11)):
            ok = rng.random() < right
            rows.append({"run_key": key, "csconv_id": f"c{d:03d}", "utt_index": 2 * i,
                         "language": "en", "gold_strategy": sid,
                         "pred_strategy": sid if ok else 12,
                         "gold_text": f"reply number {i} for dialogue {d}",
                         "pred_text": "reply number" if ok else "something else",
                         "parse_status": "ok", "error": None})
    with transaction(con):
        insert_rows(con, "eval.runs", [{"run_key": key, "model": model, "kind": "model",
                                        "setting": SETTING, "dataset": "csconv",
                                        "endpoint_model": model, "params": "{}",
                                        "prompt_version": "p"}])
        insert_rows(con, "eval.predictions", rows)


def _metric_rows(con) -> int:
    return query(con, "SELECT count(*) FROM eval.metrics")[0][0]


def test_metrics_are_computed_once_and_again_only_for_a_changed_run(warehouse):
    with connect(warehouse) as con:
        _csconv(con, 40)
        _run(con, "eval-good", "good", 0.9, 1, range(40))
        _run(con, "eval-poor", "poor", 0.2, 2, range(40))
    first = service.refresh_metrics(db=warehouse, resamples=200)
    assert sorted(first["computed"]) == ["eval-good", "eval-poor"]
    assert first["compared"] == len(service.COMPARED)  # one pair of neighbours
    with connect(warehouse) as con:
        rows = _metric_rows(con)
        board = query_dicts(con, "SELECT model, rank, acc, acc_ci_low, acc_ci_high, "
                                 "acc_differs_from_next, n_turns FROM marts.leaderboard")
    assert [(b["model"], b["rank"]) for b in board] == [("good", 1), ("poor", 2)]
    assert board[0]["acc_differs_from_next"] is True and board[1]["acc_differs_from_next"] is None
    assert board[0]["acc_ci_low"] <= board[0]["acc"] <= board[0]["acc_ci_high"]
    assert board[0]["n_turns"] == 160

    again = service.refresh_metrics(db=warehouse, resamples=200)
    assert again == {"computed": [], "current": 2, "compared": 0}
    with connect(warehouse) as con:
        assert _metric_rows(con) == rows  # nothing rewritten, nothing added
        # a new CSConv dialogue predicted by one run only: only that run is measured again
        con.execute("INSERT INTO csconv.dialogues SELECT * REPLACE ('c999' AS csconv_id) "
                    "FROM csconv.dialogues WHERE csconv_id = 'c000'")
        con.execute("INSERT INTO csconv.utterances SELECT * REPLACE ('c999' AS csconv_id) "
                    "FROM csconv.utterances WHERE csconv_id = 'c000'")
        con.execute("INSERT INTO eval.predictions SELECT * REPLACE ('c999' AS csconv_id) "
                    "FROM eval.predictions WHERE csconv_id = 'c000' AND run_key = 'eval-poor'")
    third = service.refresh_metrics(db=warehouse, resamples=200)
    assert third["computed"] == ["eval-poor"]
    with connect(warehouse) as con:
        n = query(con, "SELECT DISTINCT n_turns FROM eval.metrics WHERE run_key = 'eval-poor' "
                       "AND metric = 'acc'")
    assert n == [(164,)]


def test_an_evaluation_survives_the_round_trip_through_the_table():
    ev = Evaluation(
        headline={"acc": MetricValue("acc", 42.5, 40.0, 45.0, 10),
                  "bertscore": MetricValue("bertscore", None, None, None, 10,
                                           "not computed: no model")},
        per_strategy=[StrategyScore(1, 50.0, 100.0, 66.7, 2), StrategyScore(4, 0.0, 0.0, 0.0, 1)],
        confusion=[[2 if (g, p) == (0, 0) else 1 if (g, p) == (3, 12) else 0
                    for p in range(13)] for g in range(12)],
        phase_accuracy={"connecting": 100.0, "exploring": 0.0})
    rows = service.metric_rows("k", ev, "fp", 10)
    assert service.evaluation_from(rows) == ev


@pytest.mark.parametrize("model", ["<b>odd</b>"])
def test_the_report_is_rebuilt_from_the_stored_metrics(warehouse, model, monkeypatch, tmp_path):
    monkeypatch.setenv("CSC_OUT", str(tmp_path / "out"))
    with connect(warehouse) as con:
        _csconv(con, 12)
        _run(con, "eval-a", model, 0.8, 3, range(12))
    service.refresh_metrics(db=warehouse, resamples=50)
    path, markdown = service.write_eval_report(db=warehouse)
    html = path.read_text(encoding="utf-8")
    assert path == tmp_path / "out" / "reports" / "eval.html"
    assert "&lt;b&gt;odd&lt;/b&gt;" in html and "<b>odd</b>" not in html
    assert "eval-a" in markdown
    # the LLM judges' columns beside the paper's; unjudged here, so a status, never 0
    assert "Win rate % vs reference" in html and "Judge: empathy (1-5)" in markdown
    assert "not computed" in markdown.split("eval-a")[1]
    with connect(warehouse) as con:
        acc = query(con, "SELECT value FROM eval.metrics WHERE metric = 'acc'")[0][0]
    assert f"{acc:.1f}" in html
    json.dumps(markdown)  # a plain string for the Prefect artifact
