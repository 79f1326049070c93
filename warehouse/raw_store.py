"""Idempotent writes of ingest batches into raw.* and staging.prefilter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from warehouse.db import query, transaction
from warehouse.queries import sql

ROW_GROUP = 122_880  # rows per DuckDB row group (its storage default)


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
    q_batch = _quarantine_frame(q, ref, run_id)  # read by name: see _write_one
    # a file-level row (record 0) is about the file at its path, others about content
    con.execute(sql("raw/insert_quarantine"))
    del q_batch
    return q.height


def write_batches(con: duckdb.DuckDBPyConnection, batches: Iterable, ref: FileRef,
                  run_id: str) -> FileSummary:
    """Write every batch of one file in one transaction; the file is all in or all out."""
    summary = FileSummary(ref.path, ref.source)
    with transaction(con):
        new_rows = (Appender(con, sql("raw/insert_utterances")),
                    Appender(con, sql("raw/insert_prefilter")))
        for batch in batches:
            _write_one(con, batch, ref, run_id, summary, *new_rows)
        for appender in new_rows:
            appender.flush()
        con.execute(
            "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()) "
            "ON CONFLICT DO NOTHING",
            [ref.sha256, ref.source, ref.config_hash, ref.path, summary.records, summary.new,
             summary.already_present, summary.quarantined, run_id])
    return summary


class Appender:
    """Rows bound for one table, inserted once they fill whole row groups.

    DuckDB compresses and writes a row group during the INSERT that fills it, on its own
    threads; rows left in a partial group wait for the single-threaded COMMIT. Batches of
    ~100k utterances never fill one, so every row was compressed in the COMMIT (0.75 s of 1M
    utterances). Inserting whole groups takes that COMMIT to 0.3-0.35 s. Nothing in the
    transaction reads these tables back before `flush`: dialogues, which the next batch is
    checked against, are inserted at once. `statement` reads the rows as `u_new` or `p_new`.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, statement: str,
                 group: int = ROW_GROUP) -> None:
        self.con, self.statement, self.group = con, statement, group
        self.parts: list[pl.DataFrame] = []
        self.rows = 0

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.parts.append(frame)
            self.rows += frame.height
        if self.rows >= self.group:
            self._insert(self.rows - self.rows % self.group)

    def flush(self) -> None:
        if self.rows:
            self._insert(self.rows)

    def _insert(self, n: int) -> None:
        frame = pl.concat(self.parts, rechunk=False) if len(self.parts) > 1 else self.parts[0]
        # The statement reads its rows by name (see _write_one); one local serves both names.
        u_new = p_new = frame.slice(0, n)
        self.con.execute(self.statement)
        del u_new, p_new
        rest = frame.slice(n)
        self.parts, self.rows = ([rest] if rest.height else []), rest.height


def _new_only(frame: pl.DataFrame, new: pl.Series, of: int) -> pl.DataFrame:
    """The rows of `frame` that belong to new dialogues (`new` ids, of `of` in the batch)."""
    return frame if new.len() == of else frame.filter(pl.col("dialogue_id").is_in(new))


def _write_one(con: duckdb.DuckDBPyConnection, batch, ref: FileRef, run_id: str,
               summary: FileSummary, utterances: Appender, prefilter: Appender) -> None:
    # The statements read these frames by their local names (DuckDB's replacement scan), so
    # they must be run from this function. `con.register` would be the usual way, but in a
    # transaction a registered frame stays alive until COMMIT (its dropped view is kept for a
    # rollback): ~70 MB per 100k utterances, 0.7 GB of a 1M-utterance file.
    d_batch = batch.dialogues.with_columns(
        pl.lit(ref.sha256).alias("file_sha256"), pl.lit(run_id).alias("run_id"))
    u_batch, p_batch = batch.utterances, batch.prefilter
    # a row whose source id is stored (same language) with other content is a clash:
    # quarantined, never an update
    con.execute(sql("raw/batch_state"))
    present, n_clashes = con.execute(sql("raw/present")).fetchall()[0]
    # the clash rows quote their utterances: a scan of the batch's, skipped when none clash
    clashes = con.sql(sql("raw/clashes")).pl() if n_clashes else batch.quarantine.clear()
    con.execute(sql("raw/new_ids"))
    con.execute(sql("raw/insert_dialogues"))
    new, passed, utts = con.execute(sql("raw/new_counts")).fetchall()[0]
    new_ids = con.sql("SELECT dialogue_id FROM new_ids").pl()["dialogue_id"]
    del d_batch, u_batch, p_batch
    of = batch.dialogues.height
    utterances.add(_new_only(batch.utterances, new_ids, of))
    prefilter.add(_new_only(batch.prefilter.with_columns(pl.lit(run_id).alias("run_id")),
                            new_ids, of))
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
