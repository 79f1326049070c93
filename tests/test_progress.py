"""Long waits show progress: LLM batches (terminal and Prefect artifact), a silent endpoint, a
busy warehouse; and log lines people can read. No test measures time: intervals are injected
and the tests wait on events."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import point_llm_at

from csc.llm.gateway import LLMFailure, LLMGateway, LLMRequest
from csc.llm.journal import Journal
from csc.llm.settings import LLMSettings, RoleSettings
from csc.paths import PROJECT_ROOT, SAMPLES
from csc.progress import (
    BatchProgress,
    SilenceWatch,
    Snapshot,
    TerminalProgress,
    llm_summary,
)
from schemas.llm import PrefilterVerdict, Role
from simulator import SimConfig, run_in_thread
from warehouse.db import WarehouseBusy, _open, _writer_lock

SECRET = "sk-test-SECRET-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Counters:
    calls: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0


# -- a batch's progress ---------------------------------------------------------------------------

def test_progress_is_throttled_by_share_done_and_by_time_and_always_ends_with_final():
    clock, seen = Clock(), []
    tracker = BatchProgress("csconv zh", 100, unit="dialogues", hooks=[seen.append],
                            every_s=2.0, every_fraction=0.05, clock=clock)
    with tracker:
        assert [s.done for s in seen] == [0]  # the start
        for _ in range(4):
            tracker.advance()
        assert [s.done for s in seen] == [0]  # 4% done, no time passed: nothing new
        tracker.advance()
        assert [s.done for s in seen] == [0, 5]  # 5% more
        clock.now += 1.9
        tracker.advance()
        assert seen[-1].done == 5  # neither 5% more nor 2 s
        clock.now += 0.1
        tracker.advance()
        assert seen[-1].done == 7  # 2 s since the last update
        for _ in range(93):
            tracker.advance()
    assert len(seen) <= 2 + 100 // 5 + 1  # the start, one per 5%, the time-based one
    assert seen[-1].done == 100 and seen[-1].final
    assert sum(s.final for s in seen) == 1 and not any(s.done == 100 for s in seen[:-1])


def test_snapshot_reports_rate_eta_and_llm_cost_so_far():
    clock, seen = Clock(), []
    stats = Counters()
    tracker = BatchProgress("csconv zh", 100, unit="dialogues", hooks=[seen.append],
                            clock=clock).bind(stats)
    with tracker:
        clock.now += 10.0
        stats.calls, stats.cache_hits, stats.cost_usd = 120, 80, 0.0123456
        tracker.advance(50)
        assert seen[-1].line() == ("csconv zh: 50/100 dialogues (50%), 5.0/s, ETA 10s; "
                                   "llm 120 calls (80 cached), $0.0123")
        assert (seen[-1].percent, seen[-1].rate, seen[-1].eta_s) == (50.0, 5.0, 10.0)
        clock.now += 10.0
        tracker.advance(50)
    assert seen[-1].line() == ("csconv zh: 100/100 dialogues (100%), 5.0/s, in 20s; "
                               "llm 120 calls (80 cached), $0.0123")
    assert seen[0].line().startswith("csconv zh: 0/100 dialogues (0%), starting;")


def test_a_failing_display_is_dropped_and_never_fails_the_batch(caplog):
    seen = []

    def broken(snap: Snapshot) -> None:
        raise OSError("terminal gone")

    with BatchProgress("b", 2, hooks=[broken, seen.append]) as tracker:
        tracker.advance()
        tracker.advance()
    assert seen[-1].final and seen[-1].done == 2
    assert "terminal gone" in caplog.text and tracker.hooks == [seen.append]


def test_a_non_terminal_gets_sparse_plain_lines_not_a_bar():
    out = io.StringIO()
    terminal = TerminalProgress(out, plain_every_s=1e9, plain_every_fraction=0.10)
    assert not terminal.live
    with BatchProgress("annotate raw en", 100, unit="dialogues", hooks=[terminal],
                       clock=Clock()) as tracker:
        for _ in range(100):
            tracker.advance()
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
    assert [line.split(":")[1].split()[0] for line in lines] == \
        [f"{n}/100" for n in range(0, 101, 10)]  # the start, every 10%, the end
    assert all(line.startswith("annotate raw en: ") for line in lines)


def test_a_terminal_gets_a_live_rich_bar(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = Tty()
    terminal = TerminalProgress(out)
    assert terminal.live
    stats = Counters(3, 1, 0.5)
    with BatchProgress("csconv en", 4, unit="dialogues", hooks=[terminal]).bind(stats) as t:
        for _ in range(4):
            t.advance()
    text = out.getvalue()
    assert "csconv en" in text and "4/4" in text and "llm 3 calls (1 cached), $0.5000" in text
    from csc.progress import _BOARD
    assert _BOARD._progress is None  # the live display is stopped with the last batch


# -- a silent endpoint ------------------------------------------------------------------------------

def test_silence_is_reported_only_while_requests_wait_and_every_interval():
    clock, said = Clock(), []
    watch = SilenceWatch("https://llm.example/v1", every=15.0, say=said.append, clock=clock)
    clock.now += 100
    assert watch.check() is None  # idle: silence is not news
    watch.sent()
    watch.sent()
    clock.now += 14.9
    assert watch.check() is None
    clock.now += 0.1
    assert watch.check() == ("no answer from the endpoint https://llm.example/v1 for 15s; "
                             "2 requests waiting")
    clock.now += 10
    assert watch.check() is None  # not again before another interval
    clock.now += 5
    assert "for 30s; 2 requests waiting" in watch.check()
    watch.answered()  # an answer resets the silence
    clock.now += 14
    assert watch.check() is None
    watch.finished()
    clock.now += 1
    assert watch.check().endswith("for 15s; 1 request waiting")
    watch.finished()
    clock.now += 60
    assert watch.check() is None and watch.due() is None
    assert len(said) == 3


def roles(timeout: float) -> dict[Role, RoleSettings]:
    return {r: RoleSettings(model=f"sim-{r.value}", temperature=0.0, max_tokens=None,
                            timeout=timeout) for r in Role}


def request(i: int) -> LLMRequest:
    content = ('Judge.\n```json\n{"language": "en", "dialogue": [{"speaker": "customer", '
               f'"text": "card {i}"}}, {{"speaker": "supporter", "text": "hello"}}]}}\n```')
    return LLMRequest(Role.PREFILTER_JUDGE, [{"role": "user", "content": content}],
                      item_key=f"d{i}", prompt_version="t1", response_type=PrefilterVerdict)


def test_a_hung_endpoint_is_named_with_the_requests_waiting(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="csc.llm")
    config = SimConfig(seed=7, rate_hang=1.0, hang_s=120.0)
    with run_in_thread(config) as sim:
        settings = LLMSettings(base_url=sim.base_url, api_key=SECRET, roles=roles(120.0),
                               concurrency=8, max_attempts=1)
        journal = Journal(tmp_path / "cache.sqlite")
        gw = LLMGateway(settings, journal, run_id="r", stage="t", silence_every=0.05)

        async def go() -> None:
            said = asyncio.Event()
            say = gw.silence.say
            gw.silence.say = lambda message: (say(message), said.set())
            work = asyncio.ensure_future(gw.run_all([request(i) for i in range(3)]))
            await asyncio.wait_for(said.wait(), timeout=60)
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            await gw.aclose()

        asyncio.run(go())
        journal.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "csc.llm"]
    assert lines and SECRET not in caplog.text
    assert lines[0].startswith(f"no answer from the endpoint {sim.base_url.rstrip('/')} "
                               "(simulator) for ")
    assert lines[0].endswith("; 3 requests waiting")


def test_the_endpoint_is_named_without_credentials():
    from csc.llm.gateway import endpoint_name

    def name(url: str, model: str = "qwen-72b") -> str:
        return endpoint_name(LLMSettings(base_url=url, api_key=SECRET, roles={
            r: RoleSettings(model, 0.0, None, 5.0) for r in Role}))

    assert name(f"https://user:{SECRET}@llm.example:8443/v1/?api-key={SECRET}") == \
        "https://llm.example:8443/v1"
    assert name("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    assert name("http://127.0.0.1:9/v1", "sim-x") == "http://127.0.0.1:9/v1 (simulator)"


class Recorder(SilenceWatch):
    def __init__(self) -> None:
        super().__init__("x", every=1e9)
        self.events: list[str] = []

    def sent(self) -> None:
        self.events.append("sent")
        super().sent()

    def answered(self) -> None:
        self.events.append("answered")
        super().answered()

    def finished(self) -> None:
        self.events.append("finished")
        super().finished()


@pytest.mark.parametrize(("config", "timeout", "events", "fails"), [
    (SimConfig(seed=7), 30.0, ["sent", "answered", "finished"], False),
    (SimConfig(seed=7, rate_500=1.0), 30.0, ["sent", "answered", "finished"], True),  # heard
    (SimConfig(seed=7, rate_hang=1.0, hang_s=30.0), 0.3, ["sent", "finished"], True),  # not
], ids=["answer", "server-error", "timeout"])
def test_the_gateway_tells_the_watch_what_the_endpoint_did(tmp_path, config, timeout, events,
                                                           fails):
    with run_in_thread(config) as sim:
        settings = LLMSettings(base_url=sim.base_url, api_key=SECRET, roles=roles(timeout),
                               max_attempts=1)
        journal = Journal(tmp_path / "cache.sqlite")
        gw = LLMGateway(settings, journal, run_id="r", stage="t")
        gw.silence = recorder = Recorder()

        async def go():
            try:
                return await gw.one(request(1))
            finally:
                await gw.aclose()

        result = asyncio.run(go())
        journal.close()
    assert recorder.events == events and recorder.waiting == 0
    assert isinstance(result, LLMFailure) == fails


# -- a busy warehouse -------------------------------------------------------------------------------

class Noticed(io.StringIO):
    """stderr that tells the test when a line arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()

    def write(self, text: str) -> int:
        n = super().write(text)
        if "\n" in text:
            self.event.set()
        return n


HOLD_ADVISORY = textwrap.dedent("""
    import sys
    from pathlib import Path
    from warehouse.db import _writer_lock
    with _writer_lock(Path(sys.argv[1]), 30):
        print("held", flush=True)
        sys.stdin.readline()
""")

HOLD_DUCKDB = textwrap.dedent("""
    import sys
    import duckdb
    con = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    sys.stdin.readline()
    con.close()
""")


def holder(tmp_path: Path, script: str, db: Path) -> subprocess.Popen:
    path = tmp_path / "holder.py"
    path.write_text(script, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(path), str(db)], cwd=PROJECT_ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)))
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.wait(timeout=60) == 0


def test_a_waiting_writer_names_the_lock_holder_from_another_process(tmp_path, monkeypatch):
    db = tmp_path / "wh.duckdb"
    lock = tmp_path / "wh.duckdb.lock"
    lock.write_text("4242 a killed holder's stale line\n", encoding="utf-8")
    proc = holder(tmp_path, HOLD_ADVISORY, db)
    stamp = lock.read_text(encoding="utf-8")
    assert stamp == f"{proc.pid} holder.py {db.name}\n"  # truncated first, then written
    err = Noticed()
    monkeypatch.setattr(sys, "stderr", err)
    entered = threading.Event()

    def wait_for_lock() -> None:
        with _writer_lock(db, 60, notice_every=0.05):
            entered.set()

    waiter = threading.Thread(target=wait_for_lock)
    waiter.start()
    try:
        assert err.event.wait(timeout=60)
        assert not entered.is_set()
    finally:
        release(proc)
        waiter.join(timeout=60)
    assert entered.is_set()
    first = err.getvalue().splitlines()[0]
    assert first == (f"waiting for the warehouse lock on {db} "
                     f"(held by pid {proc.pid}: holder.py {db.name})")
    assert lock.read_text(encoding="utf-8") == ""  # released: no stale holder left behind


def test_no_lock_notice_before_the_interval_and_none_without_a_wait(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    with _writer_lock(db, 5, notice_every=0.0):
        assert f"{os.getpid()} " in (tmp_path / "wh.duckdb.lock").read_text(encoding="utf-8")
    assert capsys.readouterr().err == ""  # an uncontended lock says nothing
    proc = holder(tmp_path, HOLD_ADVISORY, db)
    try:
        with pytest.raises(WarehouseBusy, match=f"held by pid {proc.pid}: holder.py"), \
                _writer_lock(db, 0.3, notice_every=1e9):
            pass
    finally:
        release(proc)
    assert capsys.readouterr().err == ""  # polling many times is not a notice each time


def test_a_writer_waiting_for_duckdbs_own_lock_names_the_holder(tmp_path, monkeypatch):
    db = tmp_path / "wh.duckdb"
    proc = holder(tmp_path, HOLD_DUCKDB, db)
    err = Noticed()
    monkeypatch.setattr(sys, "stderr", err)
    box: dict = {}
    waiter = threading.Thread(target=lambda: box.update(con=_open(db, False, 60, 0.05)))
    waiter.start()
    try:
        assert err.event.wait(timeout=60)
    finally:
        release(proc)
        waiter.join(timeout=60)
    box["con"].close()
    first = err.getvalue().splitlines()[0]
    assert first.startswith(f"waiting for the warehouse lock on {db} (held by pid {proc.pid}: ")
    assert "holder.py" in first  # its command line, not only the interpreter


# -- log lines --------------------------------------------------------------------------------------

def test_log_lines_round_figures_and_print_no_dicts():
    from tasks.annotate import agreement_line
    from tasks.stage import shard_line

    llm = {"calls": 120, "cache_hits": 80, "cache_misses": 40, "dead": 0,
           "cost_usd": 0.01234567}
    assert shard_line({"kept": 80, "rejected": 15, "dead": 5, "deferred": 2, "llm": llm}) == \
        "kept 80, rejected 15, dead 5, deferred 2; llm 120 calls (80 cached), $0.0123"
    assert agreement_line({"n": 500, "accuracy": 0.98123456, "kappa": 0.97891234}) == \
        "label agreement over 500 turns: accuracy 0.981, kappa 0.979"
    assert agreement_line({"n": 0, "accuracy": None, "kappa": None}).endswith(
        "accuracy n/a, kappa n/a")
    assert llm_summary(3, 0, 12.3456) == "3 calls (0 cached), $12.35"


# -- the Prefect artifact, end to end ---------------------------------------------------------------

@pytest.mark.prefect
def test_the_csconv_flow_leaves_finished_progress_artifacts(
        warehouse, prefect_server, tmp_path, monkeypatch, caplog):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterType

    from csc.ingest.service import ingest_path
    from flows.csconv import csconv

    ingest_path(SAMPLES, "ingest-run", db=warehouse)
    with run_in_thread(SimConfig(seed=3)) as sim:
        point_llm_at(monkeypatch, sim.base_url, tmp_path / "llm.sqlite")
        summary = csconv(batch_size=1000, annotate_raw=False)
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(type=ArtifactFilterType(any_=["progress"])))
    latest: dict[str, object] = {}
    for artifact in sorted(found, key=lambda a: a.created):
        latest[artifact.key] = artifact
    # the samples' zh and en dialogues fit one shard (csc.kit.runner.plan)
    zh = latest["csconv-zh-en-progress"]
    assert float(zh.data) == 100.0
    assert zh.description.startswith("csconv zh+en: ") and "/s, in " in zh.description
    assert re.search(r"; llm \d+ calls \(\d+ cached\), \$0\.0000$", zh.description)
    assert float(latest["annotate-csconv-zh-en-progress"].data) == 100.0
    # The terminal (not a TTY here) got plain lines; the flow's log_prints puts them in the log.
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("csconv zh+en: 0/") for line in lines)
    assert not [line for line in lines if "{'" in line or "llm {" in line]
    assert summary["kept"] > 0
