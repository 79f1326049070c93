"""The durable side of the gateway: response cache, call log and dead letters, in SQLite.

Why SQLite and not the DuckDB warehouse: LLM stages run for minutes and DuckDB allows one
writing process per file, so holding the warehouse for every answer would lock analysts and
other stages out. SQLite in WAL mode takes many small commits from several processes; each
answer is committed the moment it arrives, so `kill -9` loses only the calls in flight. The
call log and dead letters are copied into `ops.llm_calls` / `ops.llm_dead_letter` when a
stage's batch ends (`sync_pending`), idempotently.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

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


class Journal:
    """Thread-safe; one connection per process, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                    timeout=60)
        self._con.execute("PRAGMA busy_timeout=60000")
        self._retry(lambda: self._con.execute("PRAGMA journal_mode=WAL"))
        self._con.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
        with self._lock:
            self._retry(lambda: self._con.executescript(_SCHEMA))

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
        with self._lock:
            self._con.close()

    def get(self, key: str) -> Cached | None:
        with self._lock:
            row = self._con.execute(
                "SELECT model, content, reasoning, input_tokens, output_tokens, "
                "reasoning_tokens FROM responses WHERE key = ?", (key,)).fetchone()
        return Cached(*row) if row else None

    def record(self, call: CallRow, key: str | None = None, answer: Cached | None = None) -> None:
        """Log a call, and cache its answer in the same commit."""
        call.created_at = call.created_at or time.time()
        values = asdict(call)
        values["cache_hit"] = int(call.cache_hit)
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting if needed
            try:
                if key is not None and answer is not None:
                    self._con.execute(
                        "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, answer.model, answer.content, answer.reasoning,
                         answer.input_tokens, answer.output_tokens, answer.reasoning_tokens,
                         time.time()))
                self._con.execute(
                    f"INSERT OR REPLACE INTO calls ({', '.join(CALL_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(CALL_COLUMNS))})",
                    [values[c] for c in CALL_COLUMNS])
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def dead_letter(self, row: DeadLetterRow) -> None:
        row.created_at = row.created_at or time.time()
        values = asdict(row)
        with self._lock:
            self._con.execute(
                f"INSERT OR REPLACE INTO dead_letters ({', '.join(DEAD_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(DEAD_COLUMNS))})", [values[c] for c in DEAD_COLUMNS])

    def pending(self, table: str) -> tuple[list[str], list[tuple]]:
        """Rows not yet copied to the warehouse: (column names, rows)."""
        columns = CALL_COLUMNS if table == "calls" else DEAD_COLUMNS
        with self._lock:
            rows = self._con.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE synced = 0").fetchall()
        return list(columns), rows

    def mark_synced(self, table: str, ids: list[str]) -> None:
        key = "call_id" if table == "calls" else "dl_id"
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                self._con.executemany(f"UPDATE {table} SET synced = 1 WHERE {key} = ?",
                                      [(i,) for i in ids])
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def run_cost(self, run_id: str) -> float:
        """What a run has spent so far, across every task and process that shares the run."""
        with self._lock:
            return self._con.execute("SELECT coalesce(sum(cost_usd), 0) FROM calls "
                                     "WHERE run_id = ?", (run_id,)).fetchone()[0]

    def count(self, table: str, where: str = "1=1", params: tuple = ()) -> int:
        with self._lock:
            return self._con.execute(f"SELECT count(*) FROM {table} WHERE {where}",
                                     params).fetchone()[0]
