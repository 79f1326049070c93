"""Storage failures end in one line that names the file and what to do, exit 1, after no
pointless retry (issue 11 B5): a corrupt, emptied, unwritable or full LLM cache, a full disk
under the warehouse, a warehouse busy past CSC_WAREHOUSE_WAIT_S.

Full and read-only disks are real: a small tmpfs mounted for the test, which needs root and a
kernel that allows it; elsewhere those tests skip and say why.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers import GOOD_ZH, dialogue, ingest, write_jsonl

from cli.main import _explain, main
from csc.errors import ConfigError, RunInProgress, StorageError
from csc.llm import journal as journal_module
from csc.llm.journal import Cached, CallRow, Journal
from csc.paths import PROJECT_ROOT
from tasks.retries import retry_if_transient, transient
from warehouse.db import (
    WarehouseBusy,
    WarehouseError,
    WarehouseFull,
    connect,
    query,
    registered,
    transaction,
    wait_s,
)


def mount_tmpfs(point: Path, size: str) -> str | None:
    """Mount a fresh tmpfs of that size at `point` (created); why not, when it cannot be."""
    if os.geteuid() != 0:
        return "a full or read-only disk is simulated with a small tmpfs, which needs root"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return (f"cannot mount a tmpfs here ({done.stderr.strip()}), so no full or read-only "
                "disk to test on")
    return None


def unmount(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """mount("1m") -> a fresh tmpfs of that size, unmounted after the test."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        why_not = mount_tmpfs(point, size)
        if why_not:
            pytest.skip(why_not)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        unmount(point)


def read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


def call(i: int) -> CallRow:
    return CallRow(call_id=f"c{i}", run_id="r", stage="s", role="x", model="m",
                   item_key=f"k{i}", prompt_hash=f"h{i}", prompt_version="v")


def answer(size: int = 2000) -> Cached:
    return Cached("m", "x" * size, None, 1, 1, 0)


def big_jsonl(path: Path, dialogues: int) -> Path:
    """Dialogues that neither repeat nor compress much, to fill a small disk."""
    rng = random.Random(7)
    rows = [dialogue(f"d{i}", [(speaker, text + "".join(rng.choices("abcdefghijkl", k=60)))
                               for speaker, text in GOOD_ZH]) for i in range(dialogues)]
    return write_jsonl(path, rows)


# -- the LLM cache -------------------------------------------------------------------------------

def test_a_full_disk_under_the_cache_says_so_and_keeps_what_was_cached(tmpfs):
    path = tmpfs("1m") / "cache.sqlite"
    journal = Journal(path)
    with pytest.raises(StorageError) as failed:
        for i in range(10_000):
            journal.record(call(i), f"key{i}", answer())
    message = str(failed.value)
    assert message.startswith(f"the disk holding the LLM cache {path} is full")
    assert "cannot rollback" not in message and "CSC_LLM_CACHE" in message
    assert journal.get("key0") is not None  # the answers cached so far are kept
    journal.close()


class _FullOnCommit:
    """A connection whose COMMIT finds the disk full; like SQLite, it has rolled the
    transaction back by the time it reports that."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, *params):
        if sql == "COMMIT":
            self._con.execute("ROLLBACK")
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise full
        return self._con.execute(sql, *params)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_a_full_disk_is_not_hidden_behind_cannot_rollback(tmp_path):
    journal = Journal(tmp_path / "cache.sqlite")
    real = journal._con
    journal._con = _FullOnCommit(real)
    try:
        with pytest.raises(StorageError, match="is full") as failed:
            journal.record(call(1), "key1", answer())
        assert "cannot rollback" not in str(failed.value)
        with pytest.raises(StorageError, match="is full"):
            journal.mark_synced("calls", ["c1"])
    finally:
        journal._con = real
    assert journal.get("key1") is None and journal.count("calls") == 0  # nothing half-written
    journal.record(call(2), "key2", answer())  # and the connection is still usable
    journal.close()


def test_an_empty_cache_is_reported_not_rebuilt(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"")
    with pytest.raises(StorageError) as failed:
        Journal(path)
    assert str(failed.value).startswith(f"the LLM cache {path} is empty (0 bytes)")
    assert "delete it" in str(failed.value)
    assert path.stat().st_size == 0  # left as it was, for the user to look at


def test_a_corrupt_cache_names_the_file_and_what_to_do(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(random.Random(1).randbytes(8192))
    with pytest.raises(StorageError) as failed:
        Journal(path)
    assert str(failed.value) == (
        f"the LLM cache {path} is corrupt (file is not a database). Move it aside (its "
        "answers will be asked for again) or set CSC_LLM_CACHE to use another file, then "
        "run again")


def test_an_unwritable_cache_names_the_file(tmpfs):
    point = tmpfs("1m")
    existing = point / "cache.sqlite"
    Journal(existing).close()
    read_only(point)
    for path in (existing, point / "new" / "cache.sqlite"):
        with pytest.raises(StorageError) as failed:
            journal = Journal(path)
            journal.record(call(1), "key1", answer())
        assert str(failed.value).startswith(f"the LLM cache {path} cannot be used")
        assert "writable" in str(failed.value) and "CSC_LLM_CACHE" in str(failed.value)


def test_a_new_cache_is_never_visible_empty(tmp_path, monkeypatch):
    """Another process opening a cache being created must not find it empty (that reads as
    a cache that lost its answers): it appears whole, or not at all."""
    path = tmp_path / "cache.sqlite"
    seen: list[int | None] = []
    real_connect = sqlite3.connect

    def connect_and_look(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        seen.append(path.stat().st_size if path.exists() else None)
        return con

    monkeypatch.setattr(journal_module.sqlite3, "connect", connect_and_look)
    Journal(path).close()
    assert seen and 0 not in seen, seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.sqlite"]  # no leftovers
    monkeypatch.undo()
    Journal(path).close()  # and it opens as a cache


# -- the warehouse ---------------------------------------------------------------------------

def test_a_full_disk_under_the_warehouse_is_one_error_not_a_quarantined_file(
        tmpfs, tmp_path, caplog):
    db = tmpfs("2m") / "wh.duckdb"
    with connect(db):
        pass
    source = big_jsonl(tmp_path / "big.jsonl", 4000)
    caplog.set_level(logging.WARNING)
    with pytest.raises(WarehouseFull) as failed:
        ingest(source, db)
    assert str(failed.value).startswith(f"the disk holding the warehouse {db} is full")
    assert isinstance(failed.value, StorageError)
    # not blamed on the file: no "ingest failed" warning with its traceback, no quarantine row
    assert "ingest failed" not in caplog.text
    with connect(db, read_only=True) as con:
        assert query(con, "SELECT count(*) FROM raw.quarantine")[0][0] == 0
        assert query(con, "SELECT count(*) FROM raw.dialogues")[0][0] == 0


FILL = "CREATE TABLE t AS SELECT repeat('x', 1000) || i AS s FROM range(300000) r(i)"


@pytest.mark.parametrize("in_transaction", [True, False])
def test_a_write_that_fills_the_disk_names_the_warehouse(in_transaction, tmpfs):
    """In a transaction, the failed COMMIT has ended it already: the ROLLBACK after it must
    not replace 'No space left on device' with 'cannot rollback'."""
    db = tmpfs("1m") / "wh.duckdb"
    with pytest.raises(WarehouseFull, match=f"the disk holding the warehouse {db} is full"), \
            connect(db) as con:
        if in_transaction:
            with transaction(con):
                con.execute(FILL)
        else:
            con.execute(FILL)


def test_an_error_among_registered_frames_is_the_one_raised():
    """An error aborts the transaction, and unregistering the frames then fails too; that
    second error must not hide the first (a full disk, or a quarantine reason)."""
    con = duckdb.connect()
    with pytest.raises(duckdb.ConversionException, match="Could not convert string 'x'"), \
            transaction(con), registered(con, frame_in=pl.DataFrame({"a": ["x"]})):
        con.execute("SELECT a::INTEGER FROM frame_in").fetchall()
    with registered(con, frame_in=pl.DataFrame({"a": ["1"]})):  # the names were released
        assert con.execute("SELECT a::INTEGER FROM frame_in").fetchall() == [(1,)]


HOLD_LOCK = """
import fcntl, os, sys, time
with open(sys.argv[1], "a") as fh:
    fcntl.flock(fh, fcntl.LOCK_EX)
    fh.write(f"{os.getpid()} csc run nightly\\n")  # as a csc writer says who it is
    fh.flush()
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_busy_warehouse_waits_csc_warehouse_wait_s_then_exits_1_in_one_line(tmp_path):
    db = tmp_path / "wh.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, f"{db}.lock"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        env = dict(os.environ, CSC_WAREHOUSE=str(db), CSC_WAREHOUSE_WAIT_S="1")
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "cli.main", "init"], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines == [f"csc: error: the warehouse {db} is busy: another csc process (held by "
                     f"pid {holder.pid}: csc run nightly) has been writing it for over 1s. Run "
                     "again once it has finished, or wait longer with CSC_WAREHOUSE_WAIT_S"]
    assert took < 60  # the configured second, not the default five minutes


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "5m"])
def test_a_wait_that_is_not_a_number_of_seconds_is_a_usage_mistake(value, warehouse,
                                                                   monkeypatch, capsys):
    monkeypatch.setenv("CSC_WAREHOUSE_WAIT_S", value)
    with pytest.raises(ConfigError):
        wait_s()
    assert main(["init"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"csc: error: CSC_WAREHOUSE_WAIT_S={value} must be a number of seconds "
                   ">= 0 (0: do not wait)"]
    assert not warehouse.exists()


def test_the_wait_defaults_to_five_minutes_and_takes_fractions(monkeypatch):
    monkeypatch.delenv("CSC_WAREHOUSE_WAIT_S", raising=False)
    assert wait_s() == 300.0
    monkeypatch.setenv("CSC_WAREHOUSE_WAIT_S", " 2.5 ")
    assert wait_s() == 2.5
    monkeypatch.setenv("CSC_WAREHOUSE_WAIT_S", "0")
    assert wait_s() == 0.0


def test_the_wait_applies_to_every_writer(warehouse, monkeypatch):
    monkeypatch.setenv("CSC_WAREHOUSE_WAIT_S", "0.2")
    with open(f"{warehouse}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match="for over 0s"), connect(warehouse):
            pass
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_a_report_that_cannot_be_written_names_the_file(disk, tmpfs):
    from tasks.csconv_report import write_report

    point = tmpfs("64k")
    path = point / "reports" / "csconv_funnel.md"
    write_report(path, "old report\n")
    if disk == "read-only":
        read_only(point)
    with pytest.raises(StorageError) as failed:
        write_report(path, "x" * 200_000)
    assert str(failed.value).startswith(f"cannot write the funnel report {path} (")
    assert "CSC_OUT" in str(failed.value)
    assert path.read_text() == "old report\n"  # the old one stays whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["csconv_funnel.md"]


# -- exit codes ------------------------------------------------------------------------------

@pytest.mark.parametrize(("exc", "code"), [
    (StorageError("the LLM cache /x is corrupt"), 1),
    (WarehouseBusy("the warehouse /x is busy"), 1),
    (WarehouseFull("the disk holding the warehouse /x is full"), 1),
    (RunInProgress("another run is in progress"), 1),
    (WarehouseError("no folder /x for the warehouse"), 2),
    (ConfigError("CSC_X='y' is wrong"), 2),
])
def test_runtime_failures_exit_1_and_usage_mistakes_2_in_one_line(exc, code, capsys):
    assert _explain(exc) == code
    assert capsys.readouterr().err == f"csc: error: {exc}\n"


# -- retries ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("exc", "retried"), [
    (OSError(errno.EIO, "Input/output error"), True),
    (duckdb.IOException("IO Error: Could not read from file"), True),
    (StorageError("the LLM cache /x is corrupt"), False),
    (WarehouseBusy("the warehouse /x is busy"), False),
    (WarehouseFull("the disk holding the warehouse /x is full"), False),
    (RunInProgress("another run"), False),
    (ConfigError("bad setting"), False),
    (OSError(errno.ENOSPC, "No space left on device"), False),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), False),
    (duckdb.IOException('IO Error: Could not write file "x": No space left on device'), False),
    (PermissionError(errno.EACCES, "denied"), False),
    (sqlite3.DatabaseError("file is not a database"), False),
    (KeyError("a bug"), False),
])
def test_only_failures_that_may_pass_are_retried(exc, retried):
    from prefect.states import Failed

    from tasks.stage import run_shard

    assert transient(exc) is retried
    assert retry_if_transient(run_shard, None, Failed(data=exc)) is retried


def test_every_retried_task_asks_first():
    """Every Prefect task in tasks/, found by walking the package (a new task is covered)."""
    import importlib
    import pkgutil

    from prefect import Task

    import tasks as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"tasks.{info.name}")
        found += [t for t in vars(module).values() if isinstance(t, Task)]
    assert {"run-shard", "plan-stage", "ingest-file"} <= {t.name for t in found}
    for task in found:
        assert task.retries == 0 or task.retry_condition_fn is retry_if_transient, task.name


@pytest.mark.prefect
def test_a_storage_error_in_a_batch_is_not_retried(prefect_server, monkeypatch):
    from prefect import flow

    import csc.kit.runner
    import tasks.stage
    from csc.kit.ref import StageRef
    from csc.kit.runner import Part, Shard

    class Unbuilt(StageRef):
        def build(self, settings=None):
            return None  # the failing runner below never looks at the stage

    calls: list[str] = []
    failure: list[BaseException] = []

    def failing(stage, shard, run_id, **options):
        calls.append(run_id)
        raise failure[0]

    monkeypatch.setattr(csc.kit.runner, "run_shard", failing)
    quick = tasks.stage.run_shard.with_options(retry_delay_seconds=0)

    @flow
    def one_batch() -> None:
        quick(Unbuilt("csconv", "x:Y"), Shard("csconv", (Part("zh", "v1", ["d1"]),)), "run-1")

    failure[:] = [StorageError("the LLM cache /x is corrupt")]
    with pytest.raises(StorageError):
        one_batch()
    assert len(calls) == 1  # a retry would fail the same way
    calls.clear()
    failure[:] = [OSError(errno.EIO, "Input/output error")]
    with pytest.raises(OSError):
        one_batch()
    assert len(calls) == 2  # a failing disk may pass: retried once


# -- the whole command, as a user meets it -------------------------------------------------

def csc_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """A fresh process's environment for `csc` with its own temporary Prefect server (and its
    run log in tmp_path/prefect-home/prefect.db), unless `env` names a PREFECT_API_URL."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PREFECT_API", "CSC_LLM_"))}
    clean.update({"CSC_WAREHOUSE": str(tmp_path / "wh.duckdb"), "CSC_OUT": str(tmp_path / "out"),
                  "PREFECT_HOME": str(tmp_path / "prefect-home"), **env})
    return clean


def run_csc(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`csc` in a fresh process (csc_env)."""
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=PROJECT_ROOT,
                          env=csc_env(tmp_path, **env), capture_output=True, text=True,
                          timeout=600)


def run_log(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "prefect-home" / "prefect.db") as con:
        return "\n".join(m for (m,) in con.execute("SELECT message FROM log"))


def one_clear_line(done: subprocess.CompletedProcess, start: str) -> str:
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("csc: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"csc: error: {start}"), errors
    return errors[0]


class Demo:
    """`csc demo` in a fresh process with its own temporary Prefect server, started now and
    read by `done`."""

    def __init__(self, tmp_path: Path, cache: Path) -> None:
        self.tmp_path, self.cache = tmp_path, cache
        self._out, self._err = tmp_path / "demo.out", tmp_path / "demo.err"
        with self._out.open("w") as out, self._err.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", "demo"],
                                         cwd=PROJECT_ROOT, stdout=out, stderr=err,
                                         env=csc_env(tmp_path, CSC_LLM_CACHE=str(cache)))

    def done(self) -> subprocess.CompletedProcess:
        code = self.proc.wait(timeout=600)
        return subprocess.CompletedProcess(self.proc.args, code, self._out.read_text(),
                                           self._err.read_text())


BAD_CACHES = ["corrupt", "full"]


@pytest.fixture(scope="module")
def bad_cache_demos(tmp_path_factory) -> Iterator[dict[str, Demo | str]]:
    """Both demos of test_a_bad_cache_ends_the_demo_..., started together when the first of
    them needs its own: each is still a whole `csc demo` in its own process, with its own
    temporary Prefect server, warehouse and cache, as a user runs it, and they share no file;
    running them side by side only overlaps their start-ups (mostly the temporary servers').
    A case whose disk cannot be simulated maps to why (its test skips)."""
    demos: dict[str, Demo | str] = {}
    mounted: list[Path] = []
    for case in BAD_CACHES:
        tmp_path = tmp_path_factory.mktemp(f"demo-{case}")
        if case == "corrupt":
            cache = tmp_path / "cache.sqlite"
            cache.write_bytes(random.Random(2).randbytes(8192))
        else:
            point = tmp_path / "tmpfs0"
            why_not = mount_tmpfs(point, "150k")
            if why_not:
                demos[case] = why_not
                continue
            mounted.append(point)
            cache = point / "cache.sqlite"
        demos[case] = Demo(tmp_path, cache)
    yield demos
    for demo in demos.values():
        if isinstance(demo, Demo) and demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait()
    for point in mounted:
        unmount(point)


@pytest.mark.prefect
@pytest.mark.parametrize("case", BAD_CACHES)
def test_a_bad_cache_ends_the_demo_in_one_line_with_the_traceback_in_the_run_log(
        case, bad_cache_demos):
    demo = bad_cache_demos[case]
    if isinstance(demo, str):
        pytest.skip(demo)
    if case == "corrupt":
        expected = f"the LLM cache {demo.cache} is corrupt"
    else:
        expected = f"the disk holding the LLM cache {demo.cache} is full"
    done = demo.done()
    line = one_clear_line(done, expected)
    # said once, though every LLM stage of the night failed on it; what needs them is skipped
    said = ("set CSC_LLM_CACHE to use another file, then run again" if case == "corrupt"
            else "the answers cached so far are kept")
    assert line.endswith(f"{said} (csconv and rolecs failed); skipped as a result: quality, "
                         "finetune, evaluate, publish")
    assert line.count(expected) == 1
    assert "Retry 1/1" not in done.stderr and "not retried" in done.stderr
    log = run_log(demo.tmp_path)
    assert "Traceback (most recent call last)" in log and "StorageError" in log


@pytest.mark.prefect
def test_a_full_warehouse_disk_ends_ingest_in_one_line(tmp_path, tmpfs, prefect_server):
    """`csc ingest` in a fresh process, against the session's Prefect server (PREFECT_API_URL
    passed on) instead of a temporary server of its own: what is tested is the full disk
    under the warehouse and the one line it ends in, which do not depend on where the Prefect
    API runs; the demo tests above keep the temporary server a user's `csc` starts."""
    folder = tmpfs("2m")
    source = big_jsonl(tmp_path / "big.jsonl", 4000)
    done = run_csc(["ingest", str(source)], tmp_path, CSC_WAREHOUSE=str(folder / "wh.duckdb"),
                   PREFECT_API_URL=prefect_server)
    line = one_clear_line(done, f"the disk holding the warehouse {folder / 'wh.duckdb'} is "
                                "full")
    assert line.endswith("then run again: each stage resumes where it stopped")
    assert "Retry 1/2" not in done.stderr
