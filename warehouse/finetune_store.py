"""Reads and writes of the finetune.* tables: the accepted turns an export is made of, what is
new since the last export, and an export recorded whole with the decision that made it."""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.finetune import FinetuneDecision, FinetuneExport, FinetuneExportDialogue
from warehouse.db import insert_frame, query, transaction
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
    """One finetune.decisions row, checked by its contract."""
    insert_frame(con, "finetune.decisions", FinetuneDecision.validate(_frame([decision])),
                 "decided_at", keyed=False)


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
