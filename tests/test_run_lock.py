"""One run at a time on a warehouse (issue 11 B3, issue 16): a run starts only when no other
live process has a run 'running' there. Otherwise it waits for that run to end, up to
CSC_RUN_WAIT_S; after that it is refused with one line naming the other run, does no work, and
is recorded as 'refused'."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from helpers import count, dialogue, query_all, write_jsonl

from cli.main import main
from csc.errors import RunInProgress
from warehouse.db import connect
from warehouse.runs import process_started, start_run


@pytest.fixture
def other_process():
    """A live process that is not this one, standing in for another run."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _holder(db, pid: int | None, host: str | None = None, run_id: str = "holder",
            started: float | None = None) -> None:
    with connect(db) as con:
        con.execute("INSERT INTO ops.runs (run_id, flow, started_at, status, pid, host, "
                    "proc_started) VALUES (?, 'nightly', TIMESTAMP '2026-11-30 01:02:03', "
                    "'running', ?, ?, ?)",
                    [run_id, pid, host or socket.gethostname(),
                     started if started is not None else (pid and process_started(pid))])


def _start(db, run_id: str = "second") -> None:
    with connect(db) as con:
        start_run(con, run_id, "ingest", {})


def test_a_live_run_of_another_process_refuses_the_next(warehouse, other_process):
    assert main(["init"]) == 0
    _holder(warehouse, other_process.pid)
    with pytest.raises(RunInProgress) as refused:
        _start(warehouse)
    message = str(refused.value)
    assert message.startswith("another run is in progress on this warehouse: nightly run holder ")
    assert f"(pid {other_process.pid} on {socket.gethostname()}, started at " \
           "2026-11-30 01:02:03)" in message
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE run_id = 'second'") == 0


def test_runs_of_this_process_dead_processes_and_unknown_pids_hold_no_lock(warehouse):
    """Sub-flows share their parent's process; a dead run is abandoned first; a row recorded
    before pids were kept cannot be judged and must not block forever."""
    assert main(["init"]) == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    _holder(warehouse, os.getpid(), run_id="parent")
    _holder(warehouse, dead.pid, run_id="killed", started=1.0)
    _holder(warehouse, None, run_id="legacy")
    _start(warehouse)
    status = dict(query_all(warehouse, "SELECT run_id, status FROM ops.runs"))
    assert status == {"parent": "running", "killed": "abandoned", "legacy": "running",
                      "second": "running"}


def test_a_run_on_another_host_holds_the_lock(warehouse):
    """This host cannot see that process, so it cannot call it dead."""
    assert main(["init"]) == 0
    _holder(warehouse, os.getpid(), host="elsewhere", started=1.0)
    with pytest.raises(RunInProgress, match=r"on elsewhere, started at"):
        _start(warehouse)


def test_a_finished_run_releases_the_lock(warehouse, other_process):
    assert main(["init"]) == 0
    _holder(warehouse, other_process.pid)
    with connect(warehouse) as con:
        con.execute("UPDATE ops.runs SET status = 'completed' WHERE run_id = 'holder'")
    _start(warehouse)
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE status = 'running'") == 1


@pytest.mark.prefect
def test_the_cli_refuses_a_second_run_in_one_line(warehouse, other_process, prefect_server,
                                                  tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CSC_RUN_WAIT_S", "0")  # refuse at once instead of queueing
    assert main(["init"]) == 0
    _holder(warehouse, other_process.pid)
    f = write_jsonl(tmp_path / "in.jsonl", [dialogue("a")])
    capsys.readouterr()
    assert main(["ingest", str(f)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("csc: error: another run is in progress on this warehouse: "
                              "nightly run holder")
    assert "Traceback" not in "\n".join(err)
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 0
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE status = 'refused'") == 1


@pytest.mark.prefect
def test_a_second_run_waits_for_the_first_and_then_runs(warehouse, other_process,
                                                        prefect_server, tmp_path, capsys,
                                                        monkeypatch):
    import threading
    import time

    monkeypatch.setenv("CSC_RUN_WAIT_S", "60")
    assert main(["init"]) == 0
    _holder(warehouse, other_process.pid)
    f = write_jsonl(tmp_path / "in.jsonl", [dialogue("a")])
    def end_other() -> None:  # the other run ends (here: its process is gone)
        other_process.kill()
        other_process.wait()

    ends = threading.Timer(3.0, end_other)
    ends.start()
    started = time.monotonic()
    try:
        assert main(["ingest", str(f)]) == 0
    finally:
        ends.cancel()
    assert time.monotonic() - started >= 3.0  # it waited for the other run
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 1
    assert query_all(warehouse, "SELECT status FROM ops.runs WHERE run_id = 'holder'") == [
        ("abandoned",)]


@pytest.mark.prefect
def test_a_run_that_waited_too_long_says_so(warehouse, other_process, prefect_server,
                                            tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CSC_RUN_WAIT_S", "1.5")
    assert main(["init"]) == 0
    _holder(warehouse, other_process.pid)
    f = write_jsonl(tmp_path / "in.jsonl", [dialogue("a")])
    capsys.readouterr()
    assert main(["ingest", str(f)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("csc: error: another run is in progress on this warehouse: ")
    assert last.endswith("(this run waited 1.5 s for it: CSC_RUN_WAIT_S)")
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 0
