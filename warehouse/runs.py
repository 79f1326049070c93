"""The run ledger (ops.runs): every flow or CLI run, its parameters and how it ended.

It is also the warehouse's run lock: a run starts only when no other live process has a run
'running' here, so two nightlies (or a deployment run and a manual one) never both do the same
LLM work. The check and the insert share one connection, and DuckDB lets one process at a time
open the file for writing, so two runs starting together cannot both pass.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import datetime

import duckdb

from csc.errors import RunInProgress

# A process's start time read twice may differ by a clock tick; another process's differs by
# far more.
_SAME_PROCESS_S = 2.0


def new_run_id() -> str:
    return uuid.uuid4().hex


def process_started(pid: int) -> float | None:
    """When `pid` started, in seconds since the epoch, or None when the OS does not say
    (no /proc) or the process is gone. Linux: /proc/<pid>/stat field 22 (clock ticks after
    boot) plus the boot time from /proc/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
        with open("/proc/stat", encoding="ascii") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    # the command name (field 2) may hold spaces and ')': count fields after its last ')'
    fields = stat[stat.rindex(")") + 2:].split()
    return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int, started: float | None) -> bool:
    """The run's process still runs: the pid exists and, when its start time was recorded,
    it is the same process (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    if started is None:
        return True
    now = process_started(pid)
    return now is None or abs(now - started) <= _SAME_PROCESS_S


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, params: dict, *,
              exclusive: bool = True, settings: dict | None = None) -> None:
    """Record a run as running in this process; first mark runs whose process is gone.

    `exclusive` takes the run lock: RunInProgress when another live process has a run
    'running' on this warehouse. Sub-flows of a run share its process and pass. Recording a
    run that is refused anyway (exclusive=False) never waits for the lock. `settings` are
    the run's effective settings (csc.settings.record: secrets already redacted).
    """
    mark_abandoned(con)
    if exclusive:
        holder = lock_holder(con)
        if holder is not None:
            raise RunInProgress(_in_progress(*holder))
    con.execute(
        "INSERT INTO ops.runs (run_id, flow, started_at, status, params, pid, host, "
        "proc_started, settings) VALUES (?, ?, now(), 'running', ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [run_id, flow, json.dumps(params, default=str), os.getpid(), socket.gethostname(),
         process_started(os.getpid()),
         None if settings is None else json.dumps(settings, default=str)])


def lock_holder(con: duckdb.DuckDBPyConnection) -> tuple[str, str, int, str, datetime] | None:
    """(run_id, flow, pid, host, started_at) of a run of another live process, if any.

    Runs recorded without a pid (before the ledger kept one) hold no lock: nothing can tell
    whether they still run. A run on another host holds it: this host cannot see its process.
    """
    rows = con.execute(
        "SELECT run_id, flow, pid, host, started_at, proc_started FROM ops.runs "
        "WHERE status = 'running' AND pid IS NOT NULL ORDER BY started_at").fetchall()
    me, host = os.getpid(), socket.gethostname()
    for run_id, flow, pid, where, started_at, proc_started in rows:
        if where == host and (pid == me or not _alive(pid, proc_started)):
            continue
        return run_id, flow, pid, where, started_at
    return None


def _in_progress(run_id: str, flow: str, pid: int, host: str, started_at: datetime) -> str:
    return (f"another run is in progress on this warehouse: {flow} run {run_id[:12]} "
            f"(pid {pid} on {host}, started at {started_at:%Y-%m-%d %H:%M:%S}); this run did "
            "nothing. Start it again when that one has finished (`csc status` shows runs).")


def mark_abandoned(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs still 'running' whose process on this host is gone (killed, crashed) become
    'abandoned' with the reason, so the ledger never shows a dead run as running. Runs of
    other hosts, of this process, or recorded without a pid are left alone."""
    host = socket.gethostname()
    rows = con.execute("SELECT run_id, pid, proc_started FROM ops.runs WHERE status = 'running' "
                       "AND pid IS NOT NULL AND host = ? AND pid <> ?",
                       [host, os.getpid()]).fetchall()
    dead = [(run_id, pid) for run_id, pid, started in rows if not _alive(pid, started)]
    for run_id, pid in dead:
        reason = (f"process {pid} on {host} is gone: the run was killed or crashed before it "
                  "finished")
        con.execute("UPDATE ops.runs SET status = 'abandoned', finished_at = now(), "
                    "summary = ? WHERE run_id = ?", [json.dumps({"error": reason}), run_id])
    return [run_id for run_id, _ in dead]


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict, *,
               if_running: bool = False) -> None:
    """End the run. `if_running` leaves a run that already ended as it is: a refusal recorded
    after the run's own ledger closed it must not replace its summary."""
    con.execute("UPDATE ops.runs SET finished_at = now(), status = ?, summary = ? "
                "WHERE run_id = ?" + (" AND status = 'running'" if if_running else ""),
                [status, json.dumps(summary, default=str), run_id])
