"""Ingest a file or a folder into the warehouse: the entry point of the CLI, flows and bench."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from csc.ingest.pipeline import (
    QUARANTINE_SCHEMA,
    file_sha256,
    iter_batches,
    masked_quarantine,
    prefetched,
)
from csc.ingest.readers import FileUnreadable
from csc.ingest.report import build_report
from csc.ingest.sources import SourceConfig, load_source, source_for_file
from csc.ingest.verdicts import refresh_prefilter
from csc.rules import RuleConfig
from warehouse.db import connect, query
from warehouse.raw_store import (
    FileRef,
    FileSummary,
    already_ingested,
    write_batches,
    write_quarantine,
)

SUPPORTED = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".txt")


class IngestError(ValueError):
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


def ingest_file(path: Path, cfg: SourceConfig, run_id: str, *, db: Path | None = None,
                rules: RuleConfig = RuleConfig(), force: bool = False) -> FileSummary:
    """Ingest one file in one transaction; an unreadable file becomes one quarantine row."""
    config_hash = f"{cfg.fingerprint()}-{rules.version}"
    try:
        sha = file_sha256(path)
    except OSError as exc:
        sha, unreadable = None, f"cannot read {path}: {exc.strerror or exc}"
    else:
        unreadable = None
    ref = FileRef(str(path), cfg.name, sha, config_hash)
    with connect(db) as con:
        if unreadable is None and not force and already_ingested(con, ref):
            row = query(con, "SELECT records, new_dialogues, already_present, quarantined "
                             "FROM raw.files WHERE file_sha256 = ? AND source = ? AND "
                             "config_hash = ?", [sha, cfg.name, config_hash])[0]
            return FileSummary(str(path), cfg.name, records=row[0], already_present=row[0] - row[3],
                               quarantined=row[3], skipped_unchanged=True)
        if unreadable is None:
            try:
                return write_batches(con, prefetched(iter_batches(path, cfg, rules)), ref,
                                    run_id)
            except FileUnreadable as exc:
                unreadable = str(exc)
        q = pl.DataFrame([(0, None, None, "file_unreadable", unreadable, None)],
                         schema=QUARANTINE_SCHEMA, orient="row")
        if cfg.mask_pii:
            q = masked_quarantine(q)
            unreadable = q["reason"][0]
        write_quarantine(con, q, ref, run_id)
        return FileSummary(str(path), cfg.name, records=1, quarantined=1, error=unreadable)


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
                rules: RuleConfig = RuleConfig(), force: bool = False) -> IngestReport:
    report = IngestReport()
    for file in discover(path):
        cfg = resolve_source(file, source)
        report.files.append(ingest_file(file, cfg, run_id, db=db, rules=rules, force=force))
    refresh_prefilter(run_id, db=db, rules=rules)
    return report
