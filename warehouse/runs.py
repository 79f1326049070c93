"""The run ledger (ops.runs): every flow or CLI run, its parameters and how it ended."""

from __future__ import annotations

import json
import os
import socket
import uuid

import duckdb


def new_run_id() -> str:
    return uuid.uuid4().hex


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, params: dict) -> None:
    """Record a run as running in this process; first mark runs whose process is gone."""
    mark_abandoned(con)
    con.execute(
        "INSERT INTO ops.runs (run_id, flow, started_at, status, params, pid, host) "
        "VALUES (?, ?, now(), 'running', ?, ?, ?) ON CONFLICT DO NOTHING",
        [run_id, flow, json.dumps(params, default=str), os.getpid(), socket.gethostname()])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def mark_abandoned(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs still 'running' whose process on this host is gone (killed, crashed) become
    'abandoned' with the reason, so the ledger never shows a dead run as running. Runs of
    other hosts, of this process, or recorded without a pid are left alone."""
    host = socket.gethostname()
    rows = con.execute("SELECT run_id, pid FROM ops.runs WHERE status = 'running' AND "
                       "pid IS NOT NULL AND host = ? AND pid <> ?", [host, os.getpid()]).fetchall()
    dead = [(run_id, pid) for run_id, pid in rows if not _alive(pid)]
    for run_id, pid in dead:
        reason = (f"process {pid} on {host} is gone: the run was killed or crashed before it "
                  "finished")
        con.execute("UPDATE ops.runs SET status = 'abandoned', finished_at = now(), "
                    "summary = ? WHERE run_id = ?", [json.dumps({"error": reason}), run_id])
    return [run_id for run_id, _ in dead]


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict) -> None:
    con.execute("UPDATE ops.runs SET finished_at = now(), status = ?, summary = ? "
                "WHERE run_id = ?", [status, json.dumps(summary, default=str), run_id])
