"""The published snapshot: a read-only copy of the warehouse for analysts, replaced whole after
each run that passed the data-quality gate.

Why a copy: DuckDB lets one process write a file, and an analyst's open connection to the
working warehouse would hold the nightly off (or be refused by it). Analysts open the snapshot
instead. It is written beside its final name and renamed over it, so a reader sees the old
snapshot or the new one, never half of either; a connection already open keeps reading the
file it opened (POSIX keeps a replaced file alive for its readers).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from warehouse.db import connect, warehouse_path


def snapshot_path(db: Path | None = None) -> Path:
    """`<warehouse stem>.published.duckdb` beside the warehouse (csc.published.duckdb)."""
    source = Path(db) if db else warehouse_path()
    return source.with_name(f"{source.stem}.published{source.suffix or '.duckdb'}")


def publish_snapshot(db: Path | None = None) -> Path:
    """Copy the warehouse to its snapshot and swap it in; the snapshot's path.

    The copy is made while this process holds the warehouse's writer connection, after a
    CHECKPOINT has moved every committed change into the file: no write can land halfway
    through the copy, and the copy needs no WAL.
    """
    source = Path(db) if db else warehouse_path()
    target = snapshot_path(source)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with connect(source) as con:
            con.execute("CHECKPOINT")
            shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
