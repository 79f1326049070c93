"""Issue 11 acceptance, crashes and concurrent runs, with CSC_LLM_BASE_URL=simulator: every
process starts its own simulator on a random port, as a user's runs do, and every simulator
appends the requests it receives to one log (CSC_SIMULATOR_REQUEST_LOG), so the test counts
what the endpoint received, not what the client believes it sent.

- Five `kill -9` at random moments, then a final run: only calls in flight at a kill may be
  made again, and the tables equal an uninterrupted run's.
- Two nightlies started together make no more LLM calls than one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from test_acceptance_faults import assert_same_tables, tables

from csc.ingest.service import ingest_path
from csc.paths import PROJECT_ROOT, SAMPLES
from simulator import REQUEST_LOG_ENV, read_request_log
from warehouse.db import connect, query

pytestmark = pytest.mark.prefect

CONCURRENCY = 4  # requests in flight: the most a kill can cut off mid-answer
# The stage in a fresh process that imports first and starts once told to on stdin, so the
# next run's imports (~5 s of flows.csconv, Great Expectations included) happen while the
# run before it works instead of after it is killed. The run itself, from its flow run and
# its simulator on, starts at "go", and is killed as before; only the moment it was spawned
# moves.
STAGE = ("import sys\nfrom flows.csconv import csconv\n"
         "if sys.stdin.readline() == 'go\\n':\n    csconv(batch_size=4)\n")


def child_env(db: Path, cache: Path, log: Path, latency_ms: int = 0) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSC_LLM_", "CSC_SIM"))}
    return env | {
        "CSC_WAREHOUSE": str(db), "CSC_LLM_BASE_URL": "simulator", "CSC_SIM_SEED": "23",
        "CSC_LLM_CACHE": str(cache), REQUEST_LOG_ENV: str(log),
        "CSC_LLM_CONCURRENCY": str(CONCURRENCY), "CSC_LLM_TIMEOUT": "20",
        "CSC_SIM_LATENCY_MS": str(latency_ms),
        "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(PROJECT_ROOT)}


def requests(log: Path) -> Counter[str]:
    """How often each distinct request (by the hash of its messages) reached an endpoint."""
    if not log.exists():
        return Counter()
    return Counter(r["messages_sha256"] for r in read_request_log(log))


def logged(log: Path) -> int:
    """How many requests the log holds, one line each: what `requests` adds up to, without
    parsing every line 20 times a second while the stage runs on the same two cores."""
    try:
        return log.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


class Stage:
    """A stage process, spawned ready (imported) and started with `go`."""

    def __init__(self, env: dict[str, str], out: Path) -> None:
        self.out = out
        with out.open("ab") as sink:
            self.proc = subprocess.Popen([sys.executable, "-c", STAGE], env=env,
                                         cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=sink,
                                         stderr=sink)

    def go(self) -> subprocess.Popen:
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        return self.proc

    def finish(self) -> None:
        done = self.go().wait(timeout=900)
        assert done == 0, self.out.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def kill_when(stage: Stage, log: Path, seen: int) -> bool:
    """Start the stage and kill -9 it once the endpoint has received `seen` requests in all.
    False when it finished first."""
    proc = stage.go()
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        if logged(log) >= seen:
            try:
                children = psutil.Process(proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                children = []
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            # its simulator sees its parent gone and stops (within ~1 s)
            bound = time.monotonic() + 15
            while not all(gone(c) for c in children) and time.monotonic() < bound:
                time.sleep(0.05)
            return True
        time.sleep(0.05)
    assert proc.returncode == 0, stage.out.read_text(errors="replace")[-3000:]
    return False


def test_five_kills_repeat_no_completed_call_and_end_as_a_clean_run(tmp_path, prefect_server):
    """Each run is a fresh process as before, killed with -9 at the same moments (requests
    the endpoint has received); it is only spawned early (STAGE), so that its imports
    overlap the run before it. Waiting for the killed run's simulator to stop replaces a
    fixed 1.5 s sleep."""
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean_env = child_env(clean / "wh.duckdb", clean / "cache.sqlite", clean / "requests.log")
    log = killed / "requests.log"
    env = child_env(killed / "wh.duckdb", killed / "cache.sqlite", log)
    stages = [Stage(clean_env, tmp_path / "clean.out")]
    try:
        for d in (clean, killed):
            d.mkdir()
            ingest_path(SAMPLES, "ingest-run", db=d / "wh.duckdb")
        stages.append(Stage(env, tmp_path / "killed.out"))  # imports during the clean run
        stages[0].finish()
        reference = requests(clean / "requests.log")
        total = sum(reference.values())
        assert total > 50

        moments = sorted(random.Random(5).sample(range(5, int(total * 0.8)), 5))
        kills = 0
        for at in moments:
            stages.append(Stage(env, tmp_path / "killed.out"))  # the next run, importing
            kills += kill_when(stages[-2], log, at)
        stages[-1].finish()  # the final run
    finally:
        for stage in stages:
            stage.stop()
    assert kills >= 3  # most runs were cut off mid-stage

    received = requests(log)
    repeats = sum((received - reference).values())
    assert repeats <= kills * CONCURRENCY, (repeats, kills)
    assert set(received) == set(reference)  # the same requests, no other
    assert_same_tables(tables(killed / "wh.duckdb"), tables(clean / "wh.duckdb"))


def test_two_nightlies_started_together_make_no_more_calls_than_one(tmp_path, prefect_server):
    """The single run that sets the bound works on a warehouse, cache and request log of its
    own, so it runs beside the pair rather than before it: the pair never sees it, and what
    it asks for one night is the same either way (the same samples, the same seed)."""
    alone, both = tmp_path / "alone", tmp_path / "both"
    for d in (alone, both):
        d.mkdir()
    cmd = [sys.executable, "-m", "cli.main", "run", "nightly", "--drop", str(SAMPLES)]
    single = subprocess.Popen(cmd, env=child_env(alone / "wh.duckdb", alone / "cache.sqlite",
                                                 alone / "requests.log"),
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    # answers slow enough that the LLM work of one run outlasts the gap between two starts
    # (without a lock both would ask for the same answers before either is cached); the
    # second run now queues behind the first and runs after it, so the night is paid twice
    env = child_env(both / "wh.duckdb", both / "cache.sqlite", both / "requests.log", 40)
    procs = [subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        _, single_err = single.communicate(timeout=900)
        results = []
        for p in procs:
            out, err = p.communicate(timeout=900)
            results.append((p.returncode, out, err))
    finally:
        for p in (single, *procs):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert single.returncode == 0, single_err[-3000:]
    one = sum(requests(alone / "requests.log").values())
    assert one > 0

    codes = sorted(code for code, _, _ in results)
    # single writer (issue 16): the second run queues behind the first, and both finish
    assert codes == [0, 0], [err[-2000:] for _, _, err in results]
    assert sum(requests(both / "requests.log").values()) <= one
    with connect(both / "wh.duckdb") as con:
        statuses = dict(query(con, "SELECT status, count(*) FROM ops.runs "
                                   "WHERE flow = 'nightly' GROUP BY 1"))
    assert statuses == {"completed": 2}
