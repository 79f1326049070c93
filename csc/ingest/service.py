"""Ingest a file or a folder into the warehouse: the entry point of the CLI, flows and bench."""

from __future__ import annotations

import gzip
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from csc.errors import UserError
from csc.ingest import collector
from csc.ingest.pipeline import (
    QUARANTINE_SCHEMA,
    file_sha256,
    iter_batches,
    prefetched,
    start_reader,
    stored_quarantine,
)
from csc.ingest.readers import FileUnreadable, excerpt
from csc.ingest.report import build_report
from csc.ingest.sources import SourceConfig, load_source, source_for_file
from csc.ingest.verdicts import refresh_prefilter
from csc.rules import RuleConfig
from warehouse.db import WarehouseBusy, connect, query
from warehouse.raw_store import (
    FileRef,
    FileSummary,
    already_ingested,
    write_batches,
    write_quarantine,
)

log = logging.getLogger(__name__)
SUPPORTED = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".txt")


class IngestError(UserError, ValueError):
    """A user mistake in what to ingest (a missing path, say); reported without a traceback."""


@dataclass
class IngestReport:
    files: list[FileSummary] = field(default_factory=list)

    def as_dict(self) -> dict:
        return build_report([f.as_dict() for f in self.files])

    @property
    def reconciles(self) -> bool:
        return all(f.reconciles for f in self.files)


def discover(path: Path, allow_empty: bool = False) -> list[Path]:
    """The files under `path` that look like dialogue files, in a stable order. A folder with
    none is a mistake when a user names it, and a quiet night for a scheduled run
    (`allow_empty`)."""
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    if path.is_file():
        return [path]
    files = sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and p.name.lower().removesuffix(".gz").endswith(SUPPORTED)
    )
    if not files and not allow_empty:
        raise IngestError(f"{path} holds no dialogue files ({', '.join(SUPPORTED)}, or .gz)")
    return files


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same file again may succeed: a failing disk or network mount, or the
    warehouse held by another writer. Bad data fails the same way on every attempt, and a
    missing or forbidden file needs the user, not a retry."""
    if isinstance(exc, WarehouseBusy):
        return True
    return isinstance(exc, OSError) and not isinstance(
        exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
              gzip.BadGzipFile))


def _failure(exc: Exception) -> tuple[str, str]:
    """(check, reason) for a file that failed as a whole; the reason quotes no data beyond a
    short excerpt."""
    if isinstance(exc, FileUnreadable):
        return exc.check, str(exc)
    if isinstance(exc, OSError):
        return "file_unreadable", f"cannot read {exc.filename or 'the file'}: {exc.strerror or exc}"
    log.warning("ingest failed on a file", exc_info=True)
    return "ingest_failed", (f"ingest failed on this file ({type(exc).__name__}: "
                             f"{excerpt(str(exc), 80)}); nothing of it was stored")


def ingest_file(path: Path, cfg: SourceConfig, run_id: str, *, db: Path | None = None,
                rules: RuleConfig | None = None, force: bool = False) -> FileSummary:
    """Ingest one file in one transaction. A file that fails as a whole (unreadable, empty,
    not UTF-8, or an unexpected error: its transaction is rolled back) becomes one quarantine
    row and the caller goes on to the next file; only a transient failure (`is_transient`)
    is raised, for the caller to retry. `rules` defaults to the paper's as overridden by
    CSC_RULES_*."""
    rules = rules or RuleConfig.from_env()
    config_hash = f"{cfg.fingerprint()}-{rules.version}"
    # Hashing releases the GIL, so it runs while the warehouse is opened (and, the first
    # time, migrated): about 0.2 s of every 1M utterances ingested into a new warehouse. A
    # large file's reader process starts meanwhile too (~0.4 s to import polars); if the
    # file turns out unchanged, it is stopped unread.
    reader = start_reader(path, cfg)
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-hash") as pool, \
            (closing(reader) if reader else nullcontext()):
        hashed = pool.submit(_content_hash, path)
        with connect(db) as con:
            sha, failure = hashed.result()
            ref = FileRef(str(path), cfg.name, sha, config_hash)
            if failure is None and not force and already_ingested(con, ref):
                row = query(con, "SELECT records, new_dialogues, already_present, quarantined "
                                 "FROM raw.files WHERE file_sha256 = ? AND source = ? AND "
                                 "config_hash = ?", [sha, cfg.name, config_hash])[0]
                return FileSummary(str(path), cfg.name, records=row[0],
                                   already_present=row[0] - row[3], quarantined=row[3],
                                   skipped_unchanged=True)
            if failure is None:
                try:
                    with collector.paused():
                        batches = prefetched(iter_batches(path, cfg, rules, chunks=reader))
                        return write_batches(con, collector.collected_between(batches), ref,
                                             run_id)
                except Exception as exc:  # the file's transaction is rolled back by now
                    if is_transient(exc):
                        raise
                    failure = _failure(exc)
            return _quarantine_file(con, ref, cfg, run_id, *failure)


def _content_hash(path: Path) -> tuple[str | None, tuple[str, str] | None]:
    """(sha256, None), or (None, (check, reason)) for a file that cannot be read; a transient
    failure is raised."""
    try:
        return file_sha256(path), None
    except OSError as exc:
        if is_transient(exc):
            raise
        return None, _failure(exc)


def _quarantine_file(con: duckdb.DuckDBPyConnection, ref: FileRef, cfg: SourceConfig, run_id: str,
                     check: str, reason: str) -> FileSummary:
    """Record a file that failed as a whole: one quarantine row (record 0), one record."""
    q = pl.DataFrame([(0, None, None, check, reason, None)], schema=QUARANTINE_SCHEMA,
                     orient="row")
    q = stored_quarantine(q, cfg.mask_pii)
    write_quarantine(con, q, ref, run_id)
    return FileSummary(ref.path, cfg.name, records=1, quarantined=1, error=q["reason"][0])


def give_up_on_file(path: Path, cfg: SourceConfig, run_id: str, exc: BaseException, *,
                    db: Path | None = None, rules: RuleConfig | None = None) -> FileSummary:
    """After the last retry of a transient failure, the file becomes a quarantine row like any
    other failed file, so the run reports it and goes on to the next one."""
    check, reason = _failure(exc) if isinstance(exc, Exception) else ("ingest_failed", str(exc))
    rules = rules or RuleConfig.from_env()
    ref = FileRef(str(path), cfg.name, None, f"{cfg.fingerprint()}-{rules.version}")
    with connect(db) as con:
        return _quarantine_file(con, ref, cfg, run_id, check,
                                f"{reason} (gave up after retrying)")


def resolve_source(path: Path, source: str | None) -> SourceConfig:
    """The named source, else the one for the file's extension; an extension we do not read
    (an .xml export, say) is a usage mistake, not a file of one unreadable record."""
    if source:
        return load_source(source)
    if not path.name.lower().removesuffix(".gz").endswith(SUPPORTED):
        raise IngestError(
            f"{path}: csc does not know how to read '{path.suffix or path.name}' files; pass "
            f"--source NAME (see `csc sources`) or --source CONFIG.yaml, or use one of "
            f"{', '.join(SUPPORTED)}")
    return source_for_file(path)


def ingest_path(path: Path, run_id: str, *, source: str | None = None, db: Path | None = None,
                rules: RuleConfig | None = None, force: bool = False) -> IngestReport:
    report = IngestReport()
    rules = rules or RuleConfig.from_env()
    for file in discover(path):
        cfg = resolve_source(file, source)
        report.files.append(ingest_file(file, cfg, run_id, db=db, rules=rules, force=force))
    refresh_prefilter(run_id, db=db, rules=rules)
    return report
