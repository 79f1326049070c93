"""Idempotent writes of ingest batches into raw.* and staging.prefilter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from warehouse.db import query, registered, transaction

EXCERPT = 40  # characters of an id a reason quotes (as csc.ingest.readers.EXCERPT)
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
    with registered(con, q_batch=_quarantine_frame(q, ref, run_id)):
        con.execute(
            # A file-level row (record 0) is about the file at its path: two empty files are
            # two rows. Other rows are about content, wherever the same bytes turn up.
            "INSERT INTO raw.quarantine SELECT md5(concat_ws('|', coalesce(file_sha256, "
            "source_file), CASE WHEN record_no = 0 THEN source_file END, record_no, "
            "\"check\")), source, source_file, file_sha256, record_no, "
            "line_no, source_dialogue_id, \"check\", reason, payload, run_id, now() "
            "FROM q_batch ON CONFLICT DO NOTHING")
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


# A batch row whose source id is already stored (in the same language: a translation shares
# its original's id) with other content. Such a row is a conflict, never an update.
_CLASH = """EXISTS (SELECT 1 FROM raw.dialogues r WHERE r.source = b.source
    AND r.language = b.language AND r.source_dialogue_id = b.source_dialogue_id
    AND r.dialogue_id <> b.dialogue_id)"""

_CLASHES = f"""
SELECT b.record_no, b.line_no, b.source_dialogue_id,
       'duplicate_id' AS "check",
       format('id ''{{}}'' is already stored with different content',
              CASE WHEN length(b.source_dialogue_id) > {EXCERPT}
                   THEN left(b.source_dialogue_id, {EXCERPT - 1}) || '…'
                   ELSE b.source_dialogue_id END) AS reason,
       (SELECT to_json(list({{'speaker': u.speaker, 'text': u.text}} ORDER BY u.utt_index))
        FROM u_batch u WHERE u.dialogue_id = b.dialogue_id)::VARCHAR AS payload
FROM d_batch b WHERE {_CLASH}"""

_NEW_IDS = f"""
CREATE OR REPLACE TEMP TABLE new_ids AS
SELECT b.dialogue_id FROM d_batch b
WHERE b.dialogue_id NOT IN (SELECT dialogue_id FROM raw.dialogues) AND NOT {_CLASH}"""

_PRESENT = f"""
SELECT count(*) FROM d_batch b
WHERE b.dialogue_id IN (SELECT dialogue_id FROM raw.dialogues) AND NOT {_CLASH}"""

_INSERTS = (
    f"INSERT INTO raw.dialogues SELECT {_DIALOGUE_COLS.replace('ingested_at', 'now()')} "
    "FROM d_batch WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)",
    "INSERT INTO raw.utterances BY NAME SELECT dialogue_id, utt_index, speaker, text, n_chars, "
    "strategy_label, source_line_chars FROM u_batch "
    "WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)",
    f"INSERT INTO staging.prefilter SELECT {_PREFILTER_COLS.replace('evaluated_at', 'now()')} "
    "FROM p_batch WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids) ON CONFLICT DO NOTHING",
)

_NEW_COUNTS = """
SELECT count(*), count(*) FILTER (WHERE passed), coalesce(sum(n_lines), 0) FROM p_batch
WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)"""


def _write_one(con: duckdb.DuckDBPyConnection, batch, ref: FileRef, run_id: str,
               summary: FileSummary) -> None:
    with registered(
        con,
        d_batch=batch.dialogues.with_columns(
            pl.lit(ref.sha256).alias("file_sha256"), pl.lit(run_id).alias("run_id")),
        u_batch=batch.utterances,
        p_batch=batch.prefilter.with_columns(pl.lit(run_id).alias("run_id")),
    ):
        clashes = con.sql(_CLASHES).pl()
        present = query(con, _PRESENT)[0][0]
        con.execute(_NEW_IDS)
        for statement in _INSERTS:
            con.execute(statement)
        new, passed, utts = query(con, _NEW_COUNTS)[0]
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
