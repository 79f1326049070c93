"""The durable side of the gateway: response cache, call log and dead letters, in SQLite.

Why SQLite and not the DuckDB warehouse: LLM stages run for minutes and DuckDB allows one
writing process per file, so holding the warehouse for every answer would lock analysts and
other stages out. SQLite in WAL mode takes many small commits from several processes; each
answer is committed the moment it arrives, so `kill -9` loses only the calls in flight. The
call log and dead letters are copied into `ops.llm_calls` / `ops.llm_dead_letter` when a
stage's batch ends (`sync_pending`), idempotently.

A cache that cannot be used (corrupt, emptied, unwritable, on a full disk, locked for too long)
is a StorageError naming the file and what to do; it is never silently replaced, since its
answers cost money to ask for again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from csc.errors import StorageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT,
    input_tokens INTEGER, output_tokens INTEGER, reasoning_tokens INTEGER,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY, run_id TEXT, stage TEXT, role TEXT, model TEXT, item_key TEXT,
    prompt_hash TEXT, prompt_version TEXT, input_tokens INTEGER, output_tokens INTEGER,
    reasoning_tokens INTEGER, latency_ms REAL, attempts INTEGER, reasks INTEGER, status TEXT,
    cache_hit INTEGER, cost_usd REAL, error TEXT, created_at REAL, synced INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS dead_letters (
    dl_id TEXT PRIMARY KEY, run_id TEXT, stage TEXT, role TEXT, item_key TEXT,
    prompt_hash TEXT, error TEXT, attempts INTEGER, created_at REAL, synced INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS calls_unsynced ON calls (synced);
CREATE INDEX IF NOT EXISTS dl_unsynced ON dead_letters (synced);
"""


@dataclass(frozen=True)
class Cached:
    model: str
    content: str
    reasoning: str | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int


@dataclass
class CallRow:
    call_id: str
    run_id: str
    stage: str
    role: str
    model: str
    item_key: str
    prompt_hash: str
    prompt_version: str
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    latency_ms: float = 0.0
    attempts: int = 0
    reasks: int = 0
    status: str = "ok"  # ok | cached | dead
    cache_hit: bool = False
    cost_usd: float = 0.0
    error: str | None = None
    created_at: float = 0.0


@dataclass
class DeadLetterRow:
    dl_id: str
    run_id: str
    stage: str
    role: str
    item_key: str
    prompt_hash: str
    error: str
    attempts: int
    created_at: float = 0.0


CALL_COLUMNS = tuple(CallRow.__dataclass_fields__)
DEAD_COLUMNS = tuple(DeadLetterRow.__dataclass_fields__)
# A row's values in column order, read straight off the dataclass: `asdict` deep-copies every
# field and cost as much CPU as the SQLite commit itself (all the fields are scalars).
_call_values = attrgetter(*CALL_COLUMNS)
_dead_values = attrgetter(*DEAD_COLUMNS)
_INSERT_CALL = (f"INSERT OR REPLACE INTO calls ({', '.join(CALL_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(CALL_COLUMNS))})")
_INSERT_DEAD = (f"INSERT OR REPLACE INTO dead_letters ({', '.join(DEAD_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(DEAD_COLUMNS))})")
_INSERT_RESPONSE = "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
BUSY_TIMEOUT_S = 60
CHECKPOINT_EVERY = 64  # commits between two checkpoints by the checkpoint thread
FALLBACK_CHECKPOINT_PAGES = 2000  # SQLite's own, inline (8 MB of WAL), if that thread lags
_SETTING = "set CSC_LLM_CACHE to use another file"
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})  # no room to write


def storage_error(path: Path, exc: sqlite3.Error | OSError) -> StorageError:
    """One line for what went wrong with the cache file, and what to do about it."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
    text = str(exc) if isinstance(exc, sqlite3.Error) else (exc.strerror or str(exc))
    if code == sqlite3.SQLITE_FULL or (isinstance(exc, OSError) and exc.errno in _NO_ROOM):
        return StorageError(
            f"the disk holding the LLM cache {path} is full ({text}). Free space in "
            f"{path.parent} or {_SETTING}, then run again: the answers cached so far are kept")
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return StorageError(
            f"the LLM cache {path} is corrupt ({text}). Move it aside (its answers will be "
            f"asked for again) or {_SETTING}, then run again")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StorageError(
            f"the LLM cache {path} has been locked by another process for over "
            f"{BUSY_TIMEOUT_S}s ({text}). Run again once it has finished, or {_SETTING}")
    return StorageError(
        f"the LLM cache {path} cannot be used ({text}). Make it and its folder writable, or "
        f"{_SETTING}, then run again")


class _Checkpointer:
    """Copies the WAL back into the database file on a thread of its own.

    With synchronous=NORMAL a commit writes to the WAL and does not fsync: the commit is
    durable against a crash of this process (the operating system has the bytes) the moment
    it returns. The fsyncs happen at a checkpoint, which on a busy disk took 5-90 ms. SQLite's
    automatic checkpoint runs inside the commit that crosses its threshold, on the caller's
    thread: for the gateway that is the event loop, so every request in flight stalled with
    it. Here a commit only wakes this thread, which checkpoints on its own connection
    (PASSIVE: it never waits for, nor blocks, a writer or a reader). A checkpoint that fails
    is left to the next one; the answers are already committed, only the WAL grows, and
    SQLite's own checkpoint takes over at FALLBACK_CHECKPOINT_PAGES."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        if self._thread is None:  # started on the first checkpoint, not for every journal
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"checkpoint {self._path.name}")
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        try:
            con = sqlite3.connect(str(self._path), isolation_level=None,
                                  check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                with contextlib.suppress(sqlite3.Error):
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            con.close()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()


class Journal:
    """Thread-safe; one connection per process, serialised by a lock (and a thread of its own
    for checkpoints, see _Checkpointer)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        with self._storage():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                self._create(path)
            elif path.stat().st_size == 0:
                raise StorageError(
                    f"the LLM cache {path} is empty (0 bytes): its answers are lost (a copy "
                    f"that was cut short?). Restore it from a backup, or delete it to start "
                    f"an empty cache (every answer will be asked for again), or {_SETTING}")
            self._con = sqlite3.connect(str(path), isolation_level=None,
                                        check_same_thread=False, timeout=BUSY_TIMEOUT_S)
            self._con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            self._retry(lambda: self._con.execute("PRAGMA journal_mode=WAL"))
            self._con.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self._con.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_CHECKPOINT_PAGES}")
            self._checkpointer = _Checkpointer(path)
            self._commits = 0
            with self._lock:
                self._retry(lambda: self._con.executescript(_SCHEMA))

    @staticmethod
    def _create(path: Path) -> None:
        """Make a new cache whole, then put it in place in one step (a hard link, which
        fails if another process got there first). SQLite would create the file empty and
        write its header later, and another process opening it in between would see an
        empty cache, which reads as one that lost its answers."""
        new = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
        try:
            con = sqlite3.connect(str(new), isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
            finally:
                con.close()
            try:
                os.link(new, path)
            except FileExistsError:
                pass  # another process made it first: theirs is as new as ours
            except OSError:  # a file system without hard links
                if not path.exists():
                    os.replace(new, path)
        finally:
            for leftover in (new, new.with_name(new.name + "-wal"),
                             new.with_name(new.name + "-shm")):
                leftover.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _storage(self) -> Iterator[None]:
        """SQLite's and the file system's errors as a StorageError naming the cache."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(self.path, exc) from exc

    @staticmethod
    def _retry(action, attempts: int = 200) -> None:
        """Switching to WAL and creating the schema can meet another process doing the same;
        SQLite reports that as 'locked' without waiting, so wait here."""
        for i in range(attempts):
            try:
                action()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or i == attempts - 1:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._checkpointer.stop()
        with self._lock, self._storage():
            self._con.close()  # the last connection to close checkpoints what is left

    def _write(self, work: Callable[[sqlite3.Connection], object]) -> None:
        """Run `work` in one transaction, under the lock.

        When the disk fills, SQLite has already rolled the transaction back, so a ROLLBACK of
        ours fails with 'cannot rollback - no transaction is active'; it is only tried when a
        transaction is still open, and its own failure never replaces the error that says
        what happened."""
        with self._lock, self._storage():
            self._con.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting if needed
            try:
                work(self._con)
                self._con.execute("COMMIT")
            except BaseException:
                if self._con.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._con.execute("ROLLBACK")
                raise
            self._commits += 1
            if self._commits % CHECKPOINT_EVERY == 0:
                self._checkpointer.poke()

    def get(self, key: str) -> Cached | None:
        with self._lock, self._storage():
            row = self._con.execute(
                "SELECT model, content, reasoning, input_tokens, output_tokens, "
                "reasoning_tokens FROM responses WHERE key = ?", (key,)).fetchone()
        return Cached(*row) if row else None

    def record(self, call: CallRow, key: str | None = None, answer: Cached | None = None) -> None:
        """Log a call, and cache its answer in the same commit.

        The commit is done when this returns: an answer is in the WAL file the moment it is
        recorded, so a process killed at any point after loses none (synchronous=NORMAL skips
        only the fsync, which matters for a power cut, not for a crash of this process)."""
        call.created_at = call.created_at or time.time()
        values = _call_values(call)  # cache_hit, a bool, is stored as the integer 0 or 1

        def work(con: sqlite3.Connection) -> None:
            if key is not None and answer is not None:
                con.execute(_INSERT_RESPONSE,
                            (key, answer.model, answer.content, answer.reasoning,
                             answer.input_tokens, answer.output_tokens, answer.reasoning_tokens,
                             time.time()))
            con.execute(_INSERT_CALL, values)

        self._write(work)

    def dead_letter(self, row: DeadLetterRow) -> None:
        row.created_at = row.created_at or time.time()
        values = _dead_values(row)
        with self._lock, self._storage():
            self._con.execute(_INSERT_DEAD, values)

    def pending(self, table: str) -> tuple[list[str], list[tuple]]:
        """Rows not yet copied to the warehouse: (column names, rows)."""
        columns = CALL_COLUMNS if table == "calls" else DEAD_COLUMNS
        with self._lock, self._storage():
            rows = self._con.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE synced = 0").fetchall()
        return list(columns), rows

    def mark_synced(self, table: str, ids: list[str]) -> None:
        key = "call_id" if table == "calls" else "dl_id"
        self._write(lambda con: con.executemany(
            f"UPDATE {table} SET synced = 1 WHERE {key} = ?", [(i,) for i in ids]))

    def run_cost(self, run_id: str) -> float:
        """What a run has spent so far, across every task and process that shares the run."""
        with self._lock, self._storage():
            return self._con.execute("SELECT coalesce(sum(cost_usd), 0) FROM calls "
                                     "WHERE run_id = ?", (run_id,)).fetchone()[0]

    def count(self, table: str, where: str = "1=1", params: tuple = ()) -> int:
        with self._lock, self._storage():
            return self._con.execute(f"SELECT count(*) FROM {table} WHERE {where}",
                                     params).fetchone()[0]
