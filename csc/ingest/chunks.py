"""A file's records as column chunks: what the readers yield, gathered `batch_records` at a
time into two frames (one row per line, one per record) plus the rejections.

Columns rather than `Record` objects, so a chunk crosses a process boundary as Arrow buffers
(`csc.ingest.reader_process`) and the pipeline never needs the Python objects again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from csc.ingest.readers import Record, Rejected, read_records
from csc.ingest.readers.records import PAYLOAD_LIMIT
from csc.ingest.sources import SourceConfig

LINES_SCHEMA = {"rec_i": pl.Int32, "speaker": pl.String, "text": pl.String,
                "strategy_label": pl.String}
RECS_SCHEMA = {"rec_i": pl.Int32, "record_no": pl.Int64, "line_no": pl.Int64,
               "source_dialogue_id": pl.String, "business_area": pl.String,
               "n_lines_in": pl.Int64, "n_skipped": pl.Int64}


@dataclass
class Chunk:
    """`lines`: each turn as read (speaker already mapped to customer/supporter), in file
    order; `recs`: each record's metadata; both keyed by `rec_i`, the record's position in the
    chunk. `rejected`: what could not be tied to a readable record."""

    lines: pl.DataFrame
    recs: pl.DataFrame
    rejected: list[Rejected]

    @property
    def records(self) -> int:
        return self.recs.height + len(self.rejected)

    def refused(self, rows: Iterable[tuple[int, str, str]]) -> list[Rejected]:
        """Quarantine rows for whole records of the chunk, from (rec_i, check, reason), each
        with its record as read (the rare path: a loop is fine)."""
        rows = list(rows)
        if not rows:
            return []
        rec_is = [row[0] for row in rows]
        wanted = pl.Series(rec_is, dtype=pl.Int32)
        turns: dict[int, list[dict]] = {i: [] for i in rec_is}
        for i, speaker, text in (self.lines.filter(pl.col("rec_i").is_in(wanted))
                                 .select("rec_i", "speaker", "text").iter_rows()):
            turns[i].append({"speaker": speaker, "text": text})
        meta = {row[0]: row[1:] for row in self.recs.filter(pl.col("rec_i").is_in(wanted))
                .select("rec_i", "record_no", "line_no", "source_dialogue_id").iter_rows()}
        out = []
        for i, check, reason in rows:
            record_no, line_no, source_id = meta[i]
            body = json.dumps({"id": source_id, "turns": turns[i]}, ensure_ascii=False)
            out.append(Rejected(record_no, line_no, source_id, check, reason,
                                body[:PAYLOAD_LIMIT]))
        return out


def to_chunk(records: list[Record], rejected: list[Rejected]) -> Chunk:
    rec_i: list[int] = []
    speakers: list[str] = []
    texts: list[str] = []
    labels: list[str | None] = []
    for i, rec in enumerate(records):
        rec_i.extend([i] * len(rec.texts))
        speakers.extend(rec.speakers)
        texts.extend(rec.texts)
        labels.extend(rec.labels)
    lines = pl.DataFrame({"rec_i": rec_i, "speaker": speakers, "text": texts,
                          "strategy_label": labels}, schema=LINES_SCHEMA)
    recs = pl.DataFrame(
        {
            "rec_i": list(range(len(records))),
            "record_no": [r.record_no for r in records],
            "line_no": [r.line_no for r in records],
            "source_dialogue_id": [r.source_dialogue_id for r in records],
            "business_area": [r.business_area for r in records],
            "n_lines_in": [len(r.texts) for r in records],
            "n_skipped": [r.skipped for r in records],
        },
        schema=RECS_SCHEMA,
    )
    return Chunk(lines, recs, rejected)


def read_chunks(path: Path, cfg: SourceConfig, batch_records: int) -> Iterator[Chunk]:
    """Chunks of at most `batch_records` records (rejections included), in file order.

    The first chunk is a quarter of that and each next one twice the one before, so that
    building and writing start ~0.2 s sooner on a large file and the builder, done with the
    first chunk, does not wait for a whole batch to be read."""
    records: list[Record] = []
    rejected: list[Rejected] = []
    size = max(1, batch_records // 4)
    for item in read_records(path, cfg):
        (records if isinstance(item, Record) else rejected).append(item)
        if len(records) + len(rejected) >= size:
            yield to_chunk(records, rejected)
            records, rejected, size = [], [], min(2 * size, batch_records)
    if records or rejected:
        yield to_chunk(records, rejected)
