"""Parse -> normalise -> mask -> key -> validate -> rule pre-filter, one batch of records at a time.

No warehouse: reads a file (a large one in a reader process of its own, `reader_process`),
returns polars frames. Writing them is the warehouse's job, so the same code serves the CLI, the
Prefect flow and the benchmark.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow as pa

from csc import language, pii, textclean
from csc.ingest import reader_process
from csc.ingest.chunks import Chunk, read_chunks
from csc.ingest.reader_process import ReaderProcess
from csc.ingest.readers import Rejected, excerpt
from csc.ingest.sources import SourceConfig
from csc.rules import RuleConfig, prefilter
from schemas.raw import validate_raw

QUARANTINE_SCHEMA = {
    "record_no": pl.Int64, "line_no": pl.Int64, "source_dialogue_id": pl.String,
    "check": pl.String, "reason": pl.String, "payload": pl.String,
}
SPEAKER_CODE = {"customer": "C", "supporter": "S"}
T = TypeVar("T")


@dataclass
class IngestBatch:
    """What one batch of records became. records = kept + duplicates_in_batch + quarantined."""

    dialogues: pl.DataFrame
    utterances: pl.DataFrame
    prefilter: pl.DataFrame
    quarantine: pl.DataFrame
    records: int
    duplicates_in_batch: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rejections(rows: list[Rejected]) -> pl.DataFrame:
    return pl.DataFrame(
        [(r.record_no, r.line_no, r.source_dialogue_id, r.check, r.reason, r.payload)
         for r in rows],
        schema=QUARANTINE_SCHEMA, orient="row",
    )


def cleaned_quarantine(q: pl.DataFrame) -> pl.DataFrame:
    """Control characters and escape sequences leave refused text like kept text: a
    quarantine row is printed in terminals and read in notebooks."""
    return q.with_columns(textclean.clean_expr(pl.col("payload")),
                          textclean.clean_expr(pl.col("reason")))


def masked_quarantine(q: pl.DataFrame) -> pl.DataFrame:
    """Mask PII in what was refused, like in what was kept: a quarantine row is read by
    people, and the warehouse must hold no phone number or e-mail that ingest saw."""
    if q.height == 0:
        return q
    q = cleaned_quarantine(q)
    han, latin = language.han_and_latin(
        q.select(pl.coalesce("payload", "reason", pl.lit("")).alias("t"))["t"])
    q = q.with_columns(language.detect_expr(pl.lit(han), pl.lit(latin)).alias("_lang"))
    for column in ("payload", "reason"):  # both cleaned just above
        q = pii.mask_frame(q.with_columns(pl.col(column).fill_null("").alias("_text")),
                           text="_text", language="_lang", cleaned=True).with_columns(
            pl.when(pl.col(column).is_null()).then(None).otherwise(pl.col("_text"))
            .alias(column)).drop("_text", "pii_masked")
    return q.drop("_lang")


def stored_quarantine(q: pl.DataFrame, mask_pii: bool) -> pl.DataFrame:
    """Quarantine rows as they are stored: always cleaned, masked unless the user said not."""
    return masked_quarantine(q) if mask_pii else cleaned_quarantine(q)


# Characters that neither cleaning nor Unicode normalisation can change: "\n", printable ASCII,
# Latin-1, general punctuation up to U+2027, CJK punctuation, the CJK Unified Ideographs block
# and full-width forms. Each has canonical combining class 0 and NFC_Quick_Check=Yes, so a text
# made of them only is already NFC (the quick check of UAX #15), and none is a control or an
# invisible character (csc.textclean). That is 99% of chat lines; only the others pay for the
# cleaning passes and NFC, which is the costliest step of normalising (~1 s per 1M lines).
_NOT_PLAIN = (r"[^\n\x20-\x7E\x{A0}-\x{FF}\x{2010}-\x{2027}\x{3000}-\x{3029}\x{4E00}-\x{9FFF}"
              r"\x{FF01}-\x{FF5E}]")


def _clean_nfc(texts: pl.Series) -> pl.Series:
    """`textclean.clean_expr` then NFC, run only on the texts with a character outside the
    plain class above (the result is the same: on the others both are no-ops)."""
    odd = texts.str.contains(_NOT_PLAIN).fill_null(False)
    if not odd.any():
        return texts
    rows = odd.arg_true()
    done = texts.gather(rows).to_frame("t").select(
        textclean.clean_expr(pl.col("t")).str.normalize("NFC"))["t"]
    return texts.clone().scatter(rows, done)


def normalise_lines(lines: pl.DataFrame, join: str = "\n") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(merged utterances, empty-line counts per record).

    Trim, Unicode NFC, one newline style; drop empty lines; merge consecutive lines of the
    same speaker (csc-method §3.1). Every text comes out cleaned (csc.textclean), the joins
    too: a configured `join` of "\t" joins with a space, as a tab in a line would read.
    """
    join = textclean.clean(join)
    text = pl.col("text").map_batches(_clean_nfc, return_dtype=pl.String,
                                      is_elementwise=True).str.strip_chars()
    lines = lines.with_columns(text)
    empties = lines.filter(pl.col("text") == "").group_by("rec_i").len("n_empty_dropped")
    lines = lines.filter(pl.col("text") != "")
    # The §3.2 rules R3/R4 count raw lines, so each utterance keeps its lines' lengths.
    line_chars = pl.col("text").str.len_chars().cast(pl.Int32)
    new_run = ((pl.col("speaker") != pl.col("speaker").shift(1))
               | (pl.col("rec_i") != pl.col("rec_i").shift(1))).fill_null(True)
    # A line is a run of its own when it starts a run and the next line starts another: no
    # window over the runs is needed to tell (rows are in file order).
    lines = lines.with_columns(new_run.alias("_new")).with_columns(
        pl.col("_new").cum_sum().alias("_run"),
        (pl.col("_new") & pl.col("_new").shift(-1).fill_null(True)).alias("_single"))
    # Most runs are one line: only the others go through the (costly) group-by.
    single = lines.filter(pl.col("_single")).drop("_new", "_single").with_columns(
        pl.concat_list(line_chars).alias("source_line_chars"))
    merged_runs = lines.filter(~pl.col("_single"))
    if merged_runs.height:
        merged_runs = merged_runs.group_by("_run", maintain_order=True).agg(
            pl.col("rec_i").first(),
            pl.col("speaker").first(),
            pl.col("text").str.join(join),
            pl.col("strategy_label").drop_nulls().unique(maintain_order=True).str.join("+"),
            line_chars.alias("source_line_chars"),
        ).with_columns(
            pl.when(pl.col("strategy_label") == "").then(None)
            .otherwise(pl.col("strategy_label")).alias("strategy_label"))
        lines = pl.concat([single, merged_runs.select(single.columns)]).sort("_run")
    else:
        lines = single
    # A record's utterances are consecutive rows, so an utterance's index is its row number
    # less that of its record's first row (a window over rec_i costs 20 times more).
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    first = (pl.col("rec_i") != pl.col("rec_i").shift(1)).fill_null(True)
    merged = lines.drop("_run").with_columns(
        (row - pl.when(first).then(row).forward_fill()).alias("utt_index"))
    return merged, empties


def _languages(utts: pl.DataFrame, fixed: str) -> pl.DataFrame:
    if fixed != "auto":
        return utts.select("rec_i").unique().with_columns(pl.lit(fixed).alias("language"))
    han, latin = language.han_and_latin(utts["text"])
    counts = utts.select("rec_i").with_columns(han.alias("_h"), latin.alias("_l"))
    return counts.group_by("rec_i").agg(pl.col("_h").sum(), pl.col("_l").sum()).select(
        "rec_i", language.detect_expr(pl.col("_h"), pl.col("_l")).alias("language"))


def _keys(utts: pl.DataFrame) -> pl.DataFrame:
    """The content key of each record: blake2b-128 of its utterances as
    "<speaker code>\x1f<text>", joined by "\x1e".

    Each row becomes "\x1e<code>\x1f<text>"; a record's rows are consecutive, so its blob is
    one contiguous range of the column's UTF-8 buffer (less the first "\x1e") and is hashed
    in place, with no per-record join or copy into Python bytes (0.3 s of 1M utterances).
    """
    schema = {"rec_i": pl.Int32, "dialogue_id": pl.String}
    if utts.height == 0:  # every record of the batch was refused
        return pl.DataFrame(schema=schema)
    code = pl.col("speaker").replace_strict(SPEAKER_CODE)
    rows = utts.select("rec_i", pl.concat_str([pl.lit("\x1e"), code, pl.lit("\x1f"),
                                               pl.col("text")]).alias("_r"))
    column = rows["_r"].to_arrow()
    if not pa.types.is_large_string(column.type):
        column = column.cast(pa.large_string())
    _, offsets_buf, data = column.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        column.offset:column.offset + len(column) + 1]
    rec = rows["rec_i"].to_numpy()
    first = np.flatnonzero(np.concatenate([[True], rec[1:] != rec[:-1]]))
    starts = (offsets[first] + 1).tolist()
    ends = offsets[np.append(first[1:], len(rec))].tolist()
    blobs = memoryview(data)  # type: ignore[arg-type]
    digest = functools.partial(hashlib.blake2b, digest_size=16)
    keys = [digest(blobs[a:b]).hexdigest() for a, b in zip(starts, ends, strict=True)]
    return pl.DataFrame({"rec_i": rec[first], "dialogue_id": keys}, schema=schema)


def build_batch(chunk: Chunk, cfg: SourceConfig, source_file: str, rules: RuleConfig
                ) -> IngestBatch:
    """Turn a chunk of parsed records into validated warehouse frames plus quarantine rows."""
    quarantine = [*chunk.rejected]
    recs = chunk.recs
    utts, empties = normalise_lines(chunk.lines, cfg.join)
    langs = _languages(utts, cfg.language)
    utts = utts.join(langs, on="rec_i", how="left")
    if cfg.mask_pii:
        utts = pii.mask_frame(utts, cleaned=True)  # normalise_lines cleaned every text
    else:
        utts = utts.with_columns(pl.lit(0, pl.Int32).alias("pii_masked"))
    utts = utts.with_columns(pl.col("text").str.len_chars().cast(pl.Int64).alias("n_chars"))
    utts = utts.join(_keys(utts), on="rec_i", how="left")
    per_rec = utts.group_by("rec_i").agg(
        pl.col("dialogue_id").first(), pl.col("language").first(),
        pl.len().cast(pl.Int64).alias("n_utterances"),
        pl.col("pii_masked").sum().cast(pl.Int64),
    )
    dialogues = (
        recs.join(per_rec, on="rec_i", how="left")
        .join(empties, on="rec_i", how="left")
        .with_columns(
            pl.col("n_empty_dropped").fill_null(0).cast(pl.Int64),
            pl.lit(cfg.name).alias("source"),
            pl.lit(source_file).alias("source_file"),
        )
    )
    empty = dialogues.filter(pl.col("dialogue_id").is_null())
    quarantine += chunk.refused((i, "empty_dialogue", "no utterance with text after trimming")
                                for i in empty["rec_i"])
    dialogues = dialogues.filter(pl.col("dialogue_id").is_not_null())

    # The same content twice is one dialogue; the same id with other content is a conflict.
    # Ids are scoped by language, since a translation shares the id of its original.
    firsts = dialogues.unique("dialogue_id", keep="first", maintain_order=True)
    duplicates = dialogues.height - firsts.height
    with_id = firsts.filter(pl.col("source_dialogue_id").is_not_null())
    id_scope = ["source_dialogue_id", "language"]
    first_of_id = with_id.unique(id_scope, keep="first", maintain_order=True)
    clashes = with_id.join(first_of_id.select("rec_i"), on="rec_i", how="anti")
    quarantine += chunk.refused(
        (row["rec_i"], "duplicate_id",
         f"id '{excerpt(row['source_dialogue_id'])}' already used by record {row['_first']} "
         "of this file with different content")
        for row in clashes.join(first_of_id.select(*id_scope,
                                                   pl.col("record_no").alias("_first")),
                                on=id_scope).iter_rows(named=True))
    kept = firsts.join(clashes.select("rec_i"), on="rec_i", how="anti")
    kept_utts = utts.join(kept.select("rec_i"), on="rec_i", how="semi")

    good_d, good_u, bad = validate_raw(kept, kept_utts)
    if bad.height:
        by_key = dict(zip(kept["dialogue_id"], kept["rec_i"], strict=True))
        quarantine += chunk.refused((by_key[key], check, reason)
                                    for key, check, reason in bad.iter_rows())
    return IngestBatch(
        dialogues=good_d,
        utterances=good_u,
        prefilter=prefilter(good_u.join(good_d.select("dialogue_id", "language"),
                                        on="dialogue_id", how="left"), rules),
        quarantine=stored_quarantine(_rejections(quarantine), cfg.mask_pii),
        records=chunk.records,
        duplicates_in_batch=duplicates,
    )


def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce the next items in a background thread while the caller consumes this one.

    polars and DuckDB release the GIL, so building batch n+1 overlaps writing batch n on the
    second core. The producer's exceptions are re-raised in the consumer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def offer(entry: tuple) -> bool:
        """Put unless the consumer has gone away (then the producer just stops)."""
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((done, None))
        except BaseException as exc:
            offer((done, exc))
        finally:  # a consumer that stopped early stops the source too (a reader process)
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="batch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def start_reader(path: Path, cfg: SourceConfig, batch_records: int = 25_000
                 ) -> ReaderProcess | None:
    """For a large file, its reader process, started now so that its start overlaps what the
    caller does next (close it if it is not read to the end); None for a file read in a
    thread."""
    return ReaderProcess(path, cfg, batch_records) if _large(path) else None


def iter_batches(path: Path, cfg: SourceConfig, rules: RuleConfig | None = None,
                 batch_records: int = 25_000, chunks: Iterator[Chunk] | None = None
                 ) -> Iterator[IngestBatch]:
    """Batches of at most `batch_records` records, so parsing memory stays flat on large files.

    Reading (Python, holds the GIL) runs a chunk ahead of building the previous chunk's frames
    (polars, releases the GIL): in a thread, or in a process of its own for a large file
    (`start_reader`; the caller may have started it already and pass it as `chunks`)."""
    rules = rules or RuleConfig.from_env()
    if chunks is None:
        chunks = start_reader(path, cfg, batch_records) or read_chunks(path, cfg, batch_records)
    for chunk in prefetched(chunks):
        yield build_batch(chunk, cfg, str(path), rules)


def _large(path: Path) -> bool:
    try:
        return path.stat().st_size >= reader_process.MIN_BYTES
    except OSError:  # the reader says what is wrong with the path
        return False
