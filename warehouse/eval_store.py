"""Reads and idempotent writes of the eval.* tables (sql/migrations/016_eval.sql)."""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.db import insert_rows, query, transaction
from warehouse.queries import sql

TurnRow = tuple[str, str, int, str, int | None, str]  # id, language, index, speaker, sid, text


def pending(con: duckdb.DuckDBPyConnection, language: str, run_key: str,
            limit: int | None) -> list[str]:
    ids = [i for (i,) in query(con, sql("eval/pending"), [language, run_key])]
    return ids if limit is None else ids[:limit]


def dialogue_turns(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[TurnRow]:
    return query(con, sql("eval/dialogue_turns"), [list(ids)]) if ids else []


def training_turns(con: duckdb.DuckDBPyConnection) -> list[TurnRow]:
    return query(con, sql("eval/training_turns"))


def ensure_run(con: duckdb.DuckDBPyConnection, run: dict) -> None:
    """Record a run once (its key says everything that shapes its predictions)."""
    with transaction(con):
        insert_rows(con, "eval.runs", [run])


def write_predictions(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    with transaction(con):
        return insert_rows(con, "eval.predictions", rows)


def run_frame(con: duckdb.DuckDBPyConnection, run_key: str) -> pl.DataFrame:
    """A run's predictions over the current CSConv set, as csc/eval/types.py's frame."""
    return con.sql(sql("eval/run_predictions"), params=[run_key]).pl()


def fingerprints(con: duckdb.DuckDBPyConnection, run_key: str) -> tuple[str, int, str]:
    """(fingerprint of the predictions now, their count, fingerprint the stored metrics were
    computed on): metrics are stale when the two differ."""
    now, n = query(con, sql("eval/fingerprint"), [run_key])[0]
    (stored,) = query(con, sql("eval/metrics_fingerprint"), [run_key])[0]
    return now, n, stored


def runs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str, str]]:
    return query(con, sql("eval/runs"))


def replace_metrics(con: duckdb.DuckDBPyConnection, run_key: str, rows: list[dict]) -> int:
    """A run's metrics, replaced whole in one transaction: they describe one set of
    predictions, never a mix of two."""
    with transaction(con):
        con.execute("DELETE FROM eval.metrics WHERE run_key = ?", [run_key])
        return insert_rows(con, "eval.metrics", rows, "computed_at")


def replace_comparisons(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    with transaction(con):
        for r in rows:
            con.execute("DELETE FROM eval.comparisons WHERE run_key_a = ? AND run_key_b = ? "
                        "AND metric = ?", [r["run_key_a"], r["run_key_b"], r["metric"]])
        return insert_rows(con, "eval.comparisons", rows, "computed_at")


def report_rows(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], list[dict], list[dict]]:
    """(leaderboard runs, their metric rows, their comparisons) for the report."""
    from warehouse.db import query_dicts

    runs = query_dicts(con, sql("eval/report_runs"))
    keys = [r["run_key"] for r in runs]
    if not keys:
        return [], [], []
    return (runs, query_dicts(con, sql("eval/report_metrics"), [keys]),
            query_dicts(con, sql("eval/report_comparisons"), [keys]))


# ---- LLM judges (sql/migrations/017_eval_judges.sql) ---------------------------------------

JudgedPrediction = tuple[str, int, int | None, str | None, str, str | None]
# csconv_id, utt_index, pred_strategy, pred_text, parse_status, error


def judged_run(con: duckdb.DuckDBPyConnection, model: str, setting: str) -> str | None:
    """The run key the judges look at for a model and setting (None: no predictions yet)."""
    found = query(con, sql("eval/judge_run"), [model, setting])
    return found[0][0] if found else None


def judge_turns_pending(con: duckdb.DuckDBPyConnection, language: str, run_key: str,
                        judge_version: str, limit: int | None) -> list[str]:
    ids = [i for (i,) in query(con, sql("eval/judge_turns_pending"),
                               [language, run_key, judge_version])]
    return ids if limit is None else ids[:limit]


def judge_pairwise_pending(con: duckdb.DuckDBPyConnection, language: str, run_key: str,
                           reference_run_key: str, judge_version: str,
                           limit: int | None) -> list[str]:
    ids = [i for (i,) in query(con, sql("eval/judge_pairwise_pending"),
                               [language, run_key, reference_run_key, judge_version])]
    return ids if limit is None else ids[:limit]


def judge_predictions(con: duckdb.DuckDBPyConnection, run_key: str,
                      ids: list[str]) -> list[JudgedPrediction]:
    return query(con, sql("eval/judge_predictions"), [run_key, list(ids)]) if ids else []


def judge_scores(con: duckdb.DuckDBPyConnection, run_key: str) -> pl.DataFrame:
    """A run's turn judgements under its newest judge version, over the current set."""
    return con.sql(sql("eval/judge_scores"), params=[run_key]).pl()


def judge_verdicts(con: duckdb.DuckDBPyConnection, run_key: str) -> pl.DataFrame:
    """A run's pairwise verdicts against the reference run it was compared with last."""
    return con.sql(sql("eval/judge_verdicts"), params=[run_key]).pl()
