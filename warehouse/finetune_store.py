"""Reads and writes of the finetune.* tables: the accepted turns an export is made of, what is
new since the last export, an export recorded whole with the decision that made it, and the
provider jobs trained on an export (written before any upload, updated as each id comes back)."""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.finetune import FinetuneDecision, FinetuneExport, FinetuneExportDialogue
from warehouse.db import insert_frame, query, query_dicts, transaction
from warehouse.queries import sql

# Columns that may be NULL in every row of a write, with the type they have when set.
_NULLABLE = {"reason": pl.String, "kept_turns": pl.Int32, "export_id": pl.String,
             "run_id": pl.String, "n_examples_openai": pl.Int32,
             "n_examples_sharegpt": pl.Int32, "n_examples_instruction": pl.Int32,
             "tokens_openai": pl.Int64, "tokens_sharegpt": pl.Int64,
             "tokens_instruction": pl.Int64}


def _frame(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(pl.col(c).cast(t) for c, t in _NULLABLE.items()
                              if c in frame.columns and frame[c].dtype == pl.Null)


def accepted_turns(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(dialogue_id, language, utt_index, speaker, strategy_id, text) of every accepted RoleCS
    dialogue, in order."""
    return query(con, sql("finetune/accepted_turns"))


def new_dialogues(con: duckdb.DuckDBPyConnection) -> int:
    """Accepted dialogues that no export has considered yet."""
    return query(con, sql("finetune/new_dialogues"))[0][0]


def export_of(con: duckdb.DuckDBPyConnection, export_id: str) -> tuple | None:
    """(created_at, path) of the export with this id, or None."""
    rows = query(con, sql("finetune/export_of"), [export_id])
    return rows[0] if rows else None


def record_decision(con: duckdb.DuckDBPyConnection, decision: dict) -> None:
    """One finetune.decisions row, checked by its contract. The service asks
    csc.finetune.trigger.is_news first: a decision that repeats the newest is not recorded."""
    insert_frame(con, "finetune.decisions", FinetuneDecision.validate(_frame([decision])),
                 "decided_at", keyed=False)


def latest_decision(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The newest finetune.decisions row (decision, export_id, new_dialogues, threshold,
    forced, reason) as a dict, or None before the first decision."""
    rows = query_dicts(con, sql("finetune/latest_decision"))
    return rows[0] if rows else None


def record_export(con: duckdb.DuckDBPyConnection, export: dict, dialogues: list[dict],
                  decision: dict) -> None:
    """An export, every dialogue it considered and the decision that made it, in one
    transaction: a crash leaves all three or none (the folder, written first, is then
    rewritten by the rerun)."""
    exports = FinetuneExport.validate(_frame([export]))
    placed = FinetuneExportDialogue.validate(_frame(dialogues))
    decided = FinetuneDecision.validate(_frame([decision]))
    with transaction(con):
        insert_frame(con, "finetune.exports", exports, "created_at")
        insert_frame(con, "finetune.export_dialogues", placed)
        insert_frame(con, "finetune.decisions", decided, "decided_at", keyed=False)


def latest_export(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(export_id, path) of the newest export, or None when there is none."""
    rows = query(con, sql("finetune/latest_export"))
    return rows[0] if rows else None


# -- provider jobs: one row per (provider, base model, export), updated as the job goes ------

def job_of(con: duckdb.DuckDBPyConnection, job_key: str) -> dict | None:
    """The finetune.jobs row with this key as a dict (JSON columns as text), or None."""
    rows = query_dicts(con, sql("finetune/job_of"), [job_key])
    return rows[0] if rows else None


def insert_job(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    """A new job row; an existing row with the same key is left as it is."""
    query(con, sql("finetune/job_insert"),
          [row["job_key"], row["provider"], row["base_model"], row["export_id"], row["status"],
           row["status_history"], row["started_at"], row["updated_at"]])


def update_job(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    """The job's progress: status, history, provider ids, result or error."""
    query(con, sql("finetune/job_update"),
          [row["status"], row["status_history"], row["provider_file_ids"],
           row["provider_job_id"], row["fine_tuned_model"], row["error"], row["finished_at"],
           row["updated_at"], row["job_key"]])


def jobs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every job, newest first (see sql/queries/finetune/jobs.sql for the columns)."""
    return query(con, sql("finetune/jobs"))


def trained_models(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(provider, base model, export id, fine-tuned model, export folder) of every job that
    succeeded, oldest first."""
    return query(con, sql("finetune/trained_models"))
