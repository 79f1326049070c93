"""A killed `csc` leaves no temporary Prefect server behind (issue 11 B6).

Prefect stops its temporary server from an atexit hook, which `kill -9` skips; the server
watches its parent instead (csc.prefect_server) and stops once the parent is gone.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from helpers import dialogue, write_jsonl

from csc.paths import PROJECT_ROOT
from csc.prefect_server import watched_command

STARTED = "Beginning flow run"


def _wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_only_prefects_server_command_is_wrapped():
    uvicorn = [sys.executable, "-m", "uvicorn", "--app-dir", "/x", "--port", "8123"]
    assert watched_command(uvicorn, 42) == [
        sys.executable, "-m", "csc.prefect_server", "--parent", "42", "--", "--app-dir", "/x",
        "--port", "8123"]
    other = [sys.executable, "-m", "pip", "list"]
    assert watched_command(other, 42) == other


WATCHED = """
import sys, threading, time
from csc.prefect_server import _watch_parent
threading.Thread(target=_watch_parent, args=(int(sys.argv[1]), 0.1, 1.0), daemon=True).start()
time.sleep(120)
"""
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
print(child.pid, flush=True)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped
    except psutil.NoSuchProcess:
        return True


def test_the_watch_stops_its_process_when_the_parent_is_gone():
    """The watch alone: a parent that exits at once takes its watched child along."""
    launcher = subprocess.run([sys.executable, "-c", LAUNCHER, WATCHED], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=60)
    child = int(launcher.stdout.split()[0])
    try:
        assert _wait_for(lambda: _gone(child), 15), "the watched process outlived its parent"
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.prefect
def test_kill_9_of_csc_takes_the_temporary_prefect_server_along(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    write_jsonl(drop / "one.jsonl", [dialogue("a")])
    warehouse = tmp_path / "wh.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(CSC_WAREHOUSE=str(warehouse), CSC_OUT=str(tmp_path / "out"),
               PREFECT_HOME=str(tmp_path / "prefect-home"), CSC_WAREHOUSE_WAIT_S="300",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    log = tmp_path / "csc.log"
    # Hold the warehouse's writer lock, so the run waits inside its flow, server up, until
    # it is killed.
    with (tmp_path / "wh.duckdb.lock").open("a") as lock, log.open("w") as out:
        fcntl.flock(lock, fcntl.LOCK_EX)
        csc = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "ingest", "--drop",
                                str(drop)], cwd=PROJECT_ROOT, env=env, stdout=out,
                               stderr=subprocess.STDOUT)
        servers: list[psutil.Process] = []
        try:
            started = _wait_for(lambda: STARTED in log.read_text(errors="replace"), 180)
            assert started, log.read_text(errors="replace")[-3000:]
            servers = [p for p in psutil.Process(csc.pid).children(recursive=True)
                       if "uvicorn" in " ".join(p.cmdline())
                       or "csc.prefect_server" in " ".join(p.cmdline())]
            assert servers, "no temporary server found under csc"
            csc.send_signal(signal.SIGKILL)
            csc.wait(timeout=30)
            assert _wait_for(lambda: all(_gone(p.pid) for p in servers), 15), \
                f"the temporary server outlived csc: {[p.pid for p in servers]}"
        finally:
            if csc.poll() is None:
                csc.kill()
                csc.wait(timeout=30)
            for server in servers:
                if not _gone(server.pid):
                    server.kill()
