"""Idempotent writes of ingest batches into raw.* and staging.prefilter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from warehouse.db import query, registered, transaction
from warehouse.queries import sql


@dataclass
class FileSummary:
    """records = new + already_present + quarantined, always."""

    path: str
    source: str
    records: int = 0
    new: int = 0
    already_present: int = 0
    quarantined: int = 0
    utterances: int = 0
    prefilter_passed: int = 0
    skipped_unchanged: bool = False
    error: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.records == self.new + self.already_present + self.quarantined

    def as_dict(self) -> dict:
        return asdict(self) | {"reconciles": self.reconciles}


@dataclass(frozen=True)
class FileRef:
    path: str
    source: str
    sha256: str | None
    config_hash: str


def already_ingested(con: duckdb.DuckDBPyConnection, ref: FileRef) -> bool:
    return bool(query(con, "SELECT 1 FROM raw.files WHERE file_sha256 = ? AND source = ? "
                           "AND config_hash = ?", [ref.sha256, ref.source, ref.config_hash]))


def _quarantine_frame(q: pl.DataFrame, ref: FileRef, run_id: str) -> pl.DataFrame:
    return q.with_columns(
        pl.lit(ref.source).alias("source"),
        pl.lit(ref.path).alias("source_file"),
        pl.lit(ref.sha256, pl.String).alias("file_sha256"),
        pl.lit(run_id).alias("run_id"),
    )


def write_quarantine(con: duckdb.DuckDBPyConnection, q: pl.DataFrame, ref: FileRef,
                     run_id: str) -> int:
    """Insert quarantine rows; the same record failing the same check twice is one row."""
    if q.height == 0:
        return 0
    with registered(con, q_batch=_quarantine_frame(q, ref, run_id)):
        # a file-level row (record 0) is about the file at its path, others about content
        con.execute(sql("raw/insert_quarantine"))
    return q.height


def write_batches(con: duckdb.DuckDBPyConnection, batches: Iterable, ref: FileRef,
                  run_id: str) -> FileSummary:
    """Write every batch of one file in one transaction; the file is all in or all out."""
    summary = FileSummary(ref.path, ref.source)
    with transaction(con):
        for batch in batches:
            _write_one(con, batch, ref, run_id, summary)
        con.execute(
            "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()) "
            "ON CONFLICT DO NOTHING",
            [ref.sha256, ref.source, ref.config_hash, ref.path, summary.records, summary.new,
             summary.already_present, summary.quarantined, run_id])
    return summary


def _write_one(con: duckdb.DuckDBPyConnection, batch, ref: FileRef, run_id: str,
               summary: FileSummary) -> None:
    with registered(
        con,
        d_batch=batch.dialogues.with_columns(
            pl.lit(ref.sha256).alias("file_sha256"), pl.lit(run_id).alias("run_id")),
        u_batch=batch.utterances,
        p_batch=batch.prefilter.with_columns(pl.lit(run_id).alias("run_id")),
    ):
        # a row whose source id is stored (same language) with other content is a clash:
        # quarantined, never an update
        clashes = con.sql(sql("raw/clashes")).pl()
        present = query(con, sql("raw/present"))[0][0]
        con.execute(sql("raw/new_ids"))
        con.execute(sql("raw/insert_dialogues"))
        con.execute(sql("raw/insert_utterances"))
        con.execute(sql("raw/insert_prefilter"))
        new, passed, utts = query(con, sql("raw/new_counts"))[0]
    quarantine = pl.concat([batch.quarantine, clashes], how="vertical_relaxed")
    write_quarantine(con, quarantine, ref, run_id)
    cut = quarantine.filter(pl.col("check") == "truncated_file")
    if cut.height:  # a salvaged file: its summary says what the damage cost
        summary.error = cut["reason"][0]
    summary.records += batch.records
    summary.new += new
    summary.already_present += present + batch.duplicates_in_batch
    summary.quarantined += quarantine.height
    summary.utterances += utts
    summary.prefilter_passed += passed
