"""Copy the gateway's SQLite journal (calls, dead letters) into ops.* idempotently."""

from __future__ import annotations

from typing import Protocol

import duckdb
import polars as pl

from warehouse.db import insert_frame


class Journal(Protocol):
    """What the gateway's journal offers (csc.llm.journal.Journal); no import, layers point down."""

    def pending(self, table: str) -> tuple[list[str], list[tuple]]: ...

    def mark_synced(self, table: str, ids: list[str]) -> None: ...

_TABLES = {"calls": ("ops.llm_calls", "call_id"), "dead_letters": ("ops.llm_dead_letter", "dl_id")}


def sync_journal(con: duckdb.DuckDBPyConnection, journal: Journal) -> dict[str, int]:
    """Rows copied per table. Safe to repeat: already-copied rows are skipped."""
    copied: dict[str, int] = {}
    for table, (target, key) in _TABLES.items():
        columns, rows = journal.pending(table)
        if not rows:
            copied[table] = 0
            continue
        frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
        frame = frame.with_columns(pl.from_epoch(pl.col("created_at"), time_unit="s"))
        if "cache_hit" in frame.columns:
            frame = frame.with_columns(pl.col("cache_hit").cast(pl.Boolean))
        insert_frame(con, target, frame)
        journal.mark_synced(table, frame[key].to_list())
        copied[table] = frame.height
    return copied
