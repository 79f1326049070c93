"""Runs whose process died are seen as dead (issue 11 B4): a 'running' row of a process that
is gone becomes 'abandoned' with the reason when the next run starts, and `csc status` says so."""

from __future__ import annotations

import json
import os
import socket
import subprocess

from helpers import query_all

from cli.main import main
from warehouse.db import connect
from warehouse.runs import process_started, start_run


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_is_gone_is_marked_abandoned(warehouse, capsys):
    assert main(["init"]) == 0
    host, dead = socket.gethostname(), _dead_pid()
    rows = [("killed", dead, host), ("mine", os.getpid(), host), ("elsewhere", dead, "other-host"),
            ("old", None, None)]
    with connect(warehouse) as con:
        for run_id, pid, where in rows:
            con.execute("INSERT INTO ops.runs (run_id, flow, started_at, status, pid, host) "
                        "VALUES (?, 'nightly', now(), 'running', ?, ?)", [run_id, pid, where])
        start_run(con, "next", "ingest", {}, exclusive=False)
    status = dict(query_all(warehouse, "SELECT run_id, status FROM ops.runs"))
    assert status == {"killed": "abandoned", "mine": "running", "elsewhere": "running",
                      "old": "running", "next": "running"}
    (summary, finished), = query_all(
        warehouse, "SELECT summary, finished_at FROM ops.runs WHERE run_id = 'killed'")
    assert finished is not None
    assert json.loads(summary)["error"] == (
        f"process {dead} on {host} is gone: the run was killed or crashed before it finished")
    (pid, where, started), = query_all(
        warehouse, "SELECT pid, host, proc_started FROM ops.runs WHERE run_id = 'next'")
    assert (pid, where) == (os.getpid(), host)
    assert started == process_started(os.getpid())
    capsys.readouterr()
    assert main(["status"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "runs: 1 abandoned, 4 running"


def test_a_pid_reused_by_another_process_is_not_the_run(warehouse):
    """The pid is alive (it is this test's parent), but it started long before the run was
    recorded as started: the run's own process is gone, so the run is abandoned."""
    assert main(["init"]) == 0
    parent = os.getppid()
    recorded = process_started(parent)
    assert recorded is not None
    with connect(warehouse) as con:
        con.execute("INSERT INTO ops.runs (run_id, flow, started_at, status, pid, host, "
                    "proc_started) VALUES ('reused', 'nightly', now(), 'running', ?, ?, ?)",
                    [parent, socket.gethostname(), recorded + 3.0])
        con.execute("INSERT INTO ops.runs (run_id, flow, started_at, status, pid, host, "
                    "proc_started) VALUES ('same', 'nightly', now(), 'running', ?, ?, ?)",
                    [parent, socket.gethostname(), recorded + 1.0])
        start_run(con, "next", "ingest", {}, exclusive=False)
    status = dict(query_all(warehouse, "SELECT run_id, status FROM ops.runs"))
    assert status["reused"] == "abandoned"
    assert status["same"] == "running"  # within the clock-tick tolerance: the same process
