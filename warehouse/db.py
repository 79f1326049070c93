"""Connections to the DuckDB warehouse.

DuckDB lets one process write a file at a time. Writers take an advisory lock first, so our
own stages queue instead of failing, and keep connections short so an analyst's read-only
session can get in between stages.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
DEFAULT_PATH = Path(__file__).resolve().parent / "csc.duckdb"


class WarehouseError(RuntimeError):
    """The warehouse file cannot be used (a bad path, no permission, a foreign lock)."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse file for longer than we were willing to wait."""


def ensure_writable(path: Path | None = None) -> Path:
    """Check, before any flow starts, that the warehouse can be created or written."""
    path = Path(path) if path else warehouse_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"cannot create the warehouse folder {path.parent}: {exc.strerror or exc}. "
            "Set CSC_WAREHOUSE to a writable path.") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise WarehouseError(f"the warehouse {path} is not writable. Set CSC_WAREHOUSE to a "
                             "writable path.")
    return path


def warehouse_path() -> Path:
    """`CSC_WAREHOUSE` if set, else warehouse/csc.duckdb in the project."""
    return Path(os.environ.get("CSC_WAREHOUSE") or DEFAULT_PATH)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple]:
    """Run a statement and read all its rows.

    DuckDB 2 streams results: an unread result blocks the connection, so reads always drain.
    """
    return con.execute(sql, params).fetchall() if params is not None else \
        con.execute(sql).fetchall()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing; the caller's exception is re-raised after the rollback."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: Any) -> Iterator[None]:
    """Expose polars frames to SQL under the given names for the duration of the block."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: Any,
                 stamp: str | None = None, keyed: bool = True) -> int:
    """Insert the frame's columns by name, skipping rows whose key exists (`keyed` tables);
    `stamp` names a column set to now()."""
    if frame.height == 0:
        return 0
    extra = f", now() AS {stamp}" if stamp else ""
    conflict = " ON CONFLICT DO NOTHING" if keyed else ""
    with registered(con, frame_in=frame):
        con.execute(f"INSERT INTO {table} BY NAME SELECT *{extra} FROM frame_in{conflict}")
    return frame.height


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply numbered migrations not yet applied, then (re)create every view. Idempotent."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        "CREATE TABLE IF NOT EXISTS ops.schema_migrations (version INTEGER PRIMARY KEY, "
        "name VARCHAR NOT NULL, checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    applied = {v for (v,) in query(con, "SELECT version FROM ops.schema_migrations")}
    done: list[str] = []
    for path in sorted((SQL_DIR / "migrations").glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        if version in applied:
            continue
        text = path.read_text(encoding="utf-8")
        with transaction(con):
            con.execute(text)
            con.execute("INSERT INTO ops.schema_migrations VALUES (?, ?, ?, now())",
                        [version, path.name, _checksum(text)])
        done.append(path.name)
    for path in sorted((SQL_DIR / "views").glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    return done


@contextmanager
def _writer_lock(path: Path, timeout: float) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"another csc process has been writing {path} for over {timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _open(path: Path, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from None
            if time.monotonic() > deadline:
                raise WarehouseBusy(
                    f"cannot open {path}: it is held by another process (an open DuckDB "
                    f"session?). Close it and retry. ({exc})"
                ) from None
            time.sleep(0.1)


@contextmanager
def connect(path: Path | None = None, *, read_only: bool = False,
            timeout: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated connection; writers are serialised across processes."""
    path = Path(path) if path else warehouse_path()
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}: run `csc ingest` first")
        con = _open(path, True, timeout)
        try:
            yield con
        finally:
            con.close()
        return
    ensure_writable(path)
    with _writer_lock(path, timeout):
        con = _open(path, False, timeout)
        try:
            migrate(con)
            yield con
        finally:
            con.close()
