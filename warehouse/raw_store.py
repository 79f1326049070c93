"""Idempotent writes of ingest batches into raw.* and staging.prefilter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from warehouse.db import query

_DIALOGUE_COLS = (
    "dialogue_id, source, source_dialogue_id, source_file, file_sha256, record_no, line_no, "
    "language, business_area, n_utterances, n_lines_in, n_empty_dropped, n_skipped, pii_masked, "
    "run_id, ingested_at"
)
_PREFILTER_COLS = (
    "dialogue_id, rules_version, passed, failed_rules, n_lines, n_turns, n_customer, "
    "n_supporter, max_utterance_chars, customer_long_share, run_id, evaluated_at"
)


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
    frame = _quarantine_frame(q, ref, run_id)
    con.register("q_batch", frame)
    try:
        con.execute(
            "INSERT INTO raw.quarantine SELECT md5(concat_ws('|', coalesce(file_sha256, "
            "source_file), record_no, \"check\")), source, source_file, file_sha256, record_no, "
            "line_no, source_dialogue_id, \"check\", reason, payload, run_id, now() "
            "FROM q_batch ON CONFLICT DO NOTHING")
    finally:
        con.unregister("q_batch")
    return q.height


def write_batches(con: duckdb.DuckDBPyConnection, batches: Iterable, ref: FileRef,
                  run_id: str) -> FileSummary:
    """Write every batch of one file in one transaction; the file is all in or all out."""
    summary = FileSummary(ref.path, ref.source)
    con.execute("BEGIN TRANSACTION")
    try:
        for batch in batches:
            _write_one(con, batch, ref, run_id, summary)
        con.execute(
            "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()) ON CONFLICT DO NOTHING",
            [ref.sha256, ref.source, ref.config_hash, ref.path, summary.records, summary.new,
             summary.already_present, summary.quarantined, run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return summary


def _write_one(con: duckdb.DuckDBPyConnection, batch, ref: FileRef, run_id: str,
               summary: FileSummary) -> None:
    d = batch.dialogues.with_columns(
        pl.lit(ref.sha256).alias("file_sha256"), pl.lit(run_id).alias("run_id"))
    con.register("d_batch", d)
    con.register("u_batch", batch.utterances)
    con.register("p_batch", batch.prefilter.with_columns(pl.lit(run_id).alias("run_id")))
    try:
        # The same source id already stored with other content is a conflict, not an update.
        # Ids are scoped by language: a translation (STC-3 en) shares its original's id.
        clashes = con.sql(
            "SELECT b.record_no, b.line_no, b.source_dialogue_id, r.dialogue_id AS existing"
            ", (SELECT to_json(list({'speaker': u.speaker, 'text': u.text} "
            "ORDER BY u.utt_index)) FROM u_batch u WHERE u.dialogue_id = b.dialogue_id)::VARCHAR "
            "AS payload FROM d_batch b JOIN raw.dialogues r ON r.source = b.source "
            "AND r.language = b.language AND r.source_dialogue_id = b.source_dialogue_id AND r.dialogue_id <> b.dialogue_id"
        ).pl()
        clash_filter = (
            "NOT EXISTS (SELECT 1 FROM raw.dialogues r WHERE r.source = b.source AND "
            "r.language = b.language AND r.source_dialogue_id = b.source_dialogue_id AND r.dialogue_id <> b.dialogue_id)"
        )
        present = query(con, "SELECT count(*) FROM d_batch b WHERE b.dialogue_id IN "
                             f"(SELECT dialogue_id FROM raw.dialogues) AND {clash_filter}")[0][0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE new_ids AS SELECT b.dialogue_id FROM d_batch b "
                    f"WHERE b.dialogue_id NOT IN (SELECT dialogue_id FROM raw.dialogues) "
                    f"AND {clash_filter}")
        con.execute(f"INSERT INTO raw.dialogues SELECT {_DIALOGUE_COLS.replace('ingested_at', 'now()')} "
                    "FROM d_batch WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)")
        con.execute("INSERT INTO raw.utterances SELECT dialogue_id, utt_index, speaker, text, "
                    "n_chars, strategy_label FROM u_batch "
                    "WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)")
        con.execute(f"INSERT INTO staging.prefilter SELECT "
                    f"{_PREFILTER_COLS.replace('evaluated_at', 'now()')} FROM p_batch "
                    "WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids) ON CONFLICT DO NOTHING")
        new, passed, utts = query(
            con, "SELECT count(*), count(*) FILTER (WHERE passed), sum(n_lines) FROM p_batch "
                 "WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)")[0]
    finally:
        for name in ("d_batch", "u_batch", "p_batch"):
            con.unregister(name)
    quarantine = batch.quarantine
    if clashes.height:
        quarantine = pl.concat([quarantine, clashes.select(
            "record_no", "line_no", "source_dialogue_id",
            pl.lit("duplicate_id").alias("check"),
            pl.format("id '{}' is already stored as dialogue {} with different content",
                      pl.col("source_dialogue_id"), pl.col("existing")).alias("reason"),
            "payload",
        )], how="vertical_relaxed")
    write_quarantine(con, quarantine, ref, run_id)
    summary.records += batch.records
    summary.new += new
    summary.already_present += present + batch.duplicates_in_batch
    summary.quarantined += quarantine.height
    summary.utterances += utts or 0
    summary.prefilter_passed += passed
