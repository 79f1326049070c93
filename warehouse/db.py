"""Connections to the DuckDB warehouse.

DuckDB lets one process write a file at a time. Writers take an advisory lock first, so our
own stages queue instead of failing (for CSC_WAREHOUSE_WAIT_S, default 300 s), and keep
connections short so an analyst's read-only session can get in between stages. A busy
warehouse past that wait, or a full disk under it, is a StorageError: one line naming the
file and what to do (exit 1), never retried.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from csc.errors import StorageError, UserError
from csc.settings import current

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
DEFAULT_PATH = Path(__file__).resolve().parent / "csc.duckdb"
WAIT_ENV = "CSC_WAREHOUSE_WAIT_S"
DEFAULT_WAIT_S = 300.0
# errno values of "no room to write": the disk, the user's quota, or the file-size limit
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_NO_ROOM_TEXT = ("no space left on device", "disk quota exceeded", "file too large")


class WarehouseError(UserError, RuntimeError):
    """The warehouse file cannot be used (a bad path, no permission, a foreign lock)."""


class WarehouseBusy(StorageError, WarehouseError):
    """Another process holds the warehouse file for longer than we were willing to wait.

    A runtime failure (exit 1), not a usage mistake; still a WarehouseError, so code that
    gives up on an unusable warehouse (recording a refused run, say) gives up on this too."""


class WarehouseFull(StorageError, WarehouseError, OSError):
    """The disk (or quota) under the warehouse has no room for the write in progress.

    Also an OSError, which it is at heart: code that passes I/O failures on rather than
    blaming the data (ingest quarantines a file that fails for any other reason) passes this
    on too."""


def wait_s() -> float:
    """How long a writer waits for the warehouse: `CSC_WAREHOUSE_WAIT_S` seconds, default
    300 (csc.settings checks it). Long enough for another stage to finish; a stuck holder is
    reported after it."""
    return current().warehouse_wait_s


def no_room(exc: BaseException) -> bool:
    """Whether a write failed for want of space: an OSError's errno, or DuckDB's message
    (it reports the OS error as text inside its own exception types)."""
    if isinstance(exc, OSError):
        return exc.errno in _NO_ROOM
    return isinstance(exc, duckdb.Error) and any(t in str(exc).lower() for t in _NO_ROOM_TEXT)


def _full(path: Path | None) -> WarehouseFull:
    path = path or warehouse_path()
    return WarehouseFull(
        f"the disk holding the warehouse {path} is full (or a quota or file-size limit is "
        f"reached). Free space in {path.parent} (or move the warehouse and set "
        "CSC_WAREHOUSE), then run again: each stage resumes where it stopped")


def _database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind a connection, for messages about it."""
    with contextlib.suppress(duckdb.Error):
        rows = con.execute("SELECT path FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchall()
        if rows and rows[0][0]:
            return Path(rows[0][0])
    return None


def ensure_writable(path: Path | None = None, *, create: bool = False) -> Path:
    """Check, before any flow starts, that the warehouse can be written.

    A missing folder is a mistyped CSC_WAREHOUSE far more often than a wish for a new
    warehouse, so only `create` (`csc init`) makes one; silently starting an empty warehouse
    elsewhere would hide the user's data.
    """
    path = Path(path) if path else warehouse_path()
    if not path.parent.is_dir():
        if not create:
            raise WarehouseError(
                f"no folder {path.parent} for the warehouse {path.name}: check CSC_WAREHOUSE "
                f"(or --warehouse), or run `csc init --warehouse {path}` to start a new one")
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
    """`CSC_WAREHOUSE` if set, else warehouse/csc.duckdb in the project (DEFAULT_PATH)."""
    return current().warehouse


def output_dir() -> Path:
    """Where reports and exports go: `CSC_OUT`, else `out/` beside the warehouse, so a run
    against another warehouse never overwrites the demo's reports."""
    settings = current()
    return settings.out or settings.warehouse.parent / "out"


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple]:
    """Run a statement and read all its rows.

    DuckDB 2 streams results: an unread result blocks the connection, so reads always drain.
    """
    return con.execute(sql, params).fetchall() if params is not None else \
        con.execute(sql).fetchall()


def query_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict]:
    """`query`, each row a dict by column name: for code that reads a view by its columns
    rather than by position."""
    found = con.sql(sql, params=params)
    names = found.columns
    return [dict(zip(names, row, strict=True)) for row in found.fetchall()]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing; the caller's exception is re-raised after the rollback."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException as exc:
        # A failed COMMIT (a full disk) has already ended the transaction, and ROLLBACK would
        # then fail with "no transaction is active", hiding the error that says what happened.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        if no_room(exc):
            raise _full(_database_file(con)) from exc
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: Any) -> Iterator[None]:
    """Expose polars frames to SQL under the given names for the duration of the block.

    Inside a transaction DuckDB keeps a registered frame alive until COMMIT, even after the
    block: a loop over large frames in one transaction reads them by local name instead
    (DuckDB's replacement scan; warehouse.raw_store does)."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    except BaseException:
        # In a transaction the error aborted, unregister fails too ("Current transaction is
        # aborted"); that must not replace the error that says what went wrong.
        for name in frames:
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
        raise
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


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict],
                stamp: str | None = "created_at", keyed: bool = True) -> int:
    """`insert_frame` for a list of row dicts (a stage's outcome rows)."""
    if not rows:
        return 0
    import polars as pl  # only writers of row dicts need it

    return insert_frame(con, table, pl.DataFrame(rows, infer_schema_length=None), stamp,
                        keyed)


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@cache
def latest_migration() -> int:
    return max(int(p.name.split("_", 1)[0]) for p in (SQL_DIR / "migrations").glob("*.sql"))


# Warehouses this process has migrated, views included. A stage commits every few seconds,
# and recreating every view on each of those connections cost ~50 ms of CPU each time.
_MIGRATED: set[Path] = set()


def _up_to_date(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """This process migrated `path` before, and the file still holds the latest migration (a
    file replaced since, or one without the table, is migrated again)."""
    if path not in _MIGRATED:
        return False
    try:
        return query(con, "SELECT max(version) FROM ops.schema_migrations")[0][0] \
            == latest_migration()
    except duckdb.CatalogException:
        return False


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


def _short(command: str, limit: int = 100) -> str:
    """A command line a person can read: paths shortened to their last part (the pid says
    exactly who it is; this is the hint), and at most `limit` characters."""
    words = [w.rstrip("/").rsplit("/", 1)[-1] if "/" in w.rstrip("/") else w
             for w in command.split()]
    command = " ".join(words)
    return command if len(command) <= limit else command[:limit - 1] + "…"


def _this_process() -> str:
    """A short description of this process, for whoever waits for a lock it holds."""
    argv = list(sys.argv) or ["python"]
    argv[0] = Path(argv[0]).name or "python"
    return _short(" ".join(argv))


def _lock_holder(lock_path: Path) -> str:
    """'held by pid N: <command>', as the holder of our advisory lock wrote it."""
    try:
        pid, _, command = lock_path.read_text(encoding="utf-8", errors="replace").strip() \
            .partition(" ")
    except OSError:
        pid = command = ""
    if not pid.isdigit():  # between its flock and its write, or a process of an old version
        return "held by a process that has not said who it is yet"
    return f"held by pid {pid}: {command or '?'}"


def _duckdb_holder(error: str) -> str:
    """'held by pid N: <command>' from DuckDB's lock error ('... held in <program> (PID N)')."""
    found = re.search(r"held in (.*?) \(PID (\d+)\)", error)
    if not found:
        return "held by another process"
    program, pid = found.groups()
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip() or program
    except OSError:
        command = program
    return f"held by pid {pid}: {_short(command)}"


@contextmanager
def _writer_lock(path: Path, timeout: float, notice_every: float = 15.0) -> Iterator[None]:
    """Our advisory writer lock. The holder writes its pid and command into the lock file;
    a waiter says on stderr, every `notice_every` s, whom it is waiting for."""
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a", encoding="utf-8") as fh:
        started = time.monotonic()
        deadline, notice_at = started + timeout, started + notice_every
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now > deadline:
                    raise WarehouseBusy(
                        f"the warehouse {path} is busy: another csc process "
                        f"({_lock_holder(lock_path)}) has been writing it for over "
                        f"{timeout:.0f}s. Run again once it has finished, or wait longer "
                        f"with {WAIT_ENV}") from None
                if now >= notice_at:
                    notice_at = now + notice_every
                    print(f"waiting for the warehouse lock on {path} "
                          f"({_lock_holder(lock_path)})", file=sys.stderr, flush=True)
                time.sleep(0.05)
        fh.truncate(0)  # an earlier holder's line (one that was killed) goes first
        fh.write(f"{os.getpid()} {_this_process()}\n")  # "a": written at the (new) end
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _open(path: Path, read_only: bool, timeout: float,
          notice_every: float = 15.0) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting for DuckDB's own lock (an analyst's session, say) and saying on
    stderr, every `notice_every` s, whom we are waiting for."""
    started = time.monotonic()
    deadline, notice_at = started + timeout, started + notice_every
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if no_room(exc):
                raise _full(path) from exc
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from None
            now = time.monotonic()
            if now > deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is busy: {_duckdb_holder(str(exc))} (an open "
                    f"DuckDB session?) has held it for over {timeout:.0f}s. Close that "
                    f"session and run again, or wait longer with {WAIT_ENV}") from None
            if now >= notice_at:
                notice_at = now + notice_every
                print(f"waiting for the warehouse lock on {path} ({_duckdb_holder(str(exc))})",
                      file=sys.stderr, flush=True)
            time.sleep(0.1)


@contextmanager
def connect(path: Path | None = None, *, read_only: bool = False,
            timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated connection; writers are serialised across processes, each waiting up to
    `timeout` s (default CSC_WAREHOUSE_WAIT_S) for the others. A write that finds the disk
    full, in our code or the caller's block, ends as WarehouseFull."""
    path = Path(path) if path else warehouse_path()
    timeout = wait_s() if timeout is None else timeout
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
    try:
        with _writer_lock(path, timeout):
            con = _open(path, False, timeout)
            try:
                if not _up_to_date(con, path.resolve()):
                    migrate(con)
                    _MIGRATED.add(path.resolve())
                yield con
            finally:
                con.close()
    except (duckdb.Error, OSError) as exc:
        # an OSError of the caller's about another file (a report) is not the warehouse's
        foreign = isinstance(exc, OSError) and exc.filename is not None \
            and Path(exc.filename).parent != path.parent
        if foreign or not no_room(exc):
            raise
        raise _full(path) from exc
