"""The gateway over real HTTP, with the real openai SDK, against the offline simulator."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import csc.llm.gateway as gateway_module
from csc.llm.gateway import EndpointError, LLMFailure, LLMGateway, LLMRequest, LLMResult
from csc.llm.journal import Journal
from csc.llm.settings import LLMNotConfigured, LLMSettings, Price, RoleSettings, load_settings
from schemas.llm import PostfilterVerdict, PrefilterVerdict, Role
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, query
from warehouse.llm_store import sync_journal

SECRET = "sk-test-SECRET-0123456789"


def settings_for(url: str, **over) -> LLMSettings:
    roles = {r: RoleSettings(model=f"sim-{r.value}", temperature=0.0, max_tokens=None,
                             timeout=over.pop("timeout", 5.0) if r is Role.CANDIDATE else 5.0)
             for r in Role}
    base = LLMSettings(base_url=url, api_key=SECRET, roles=roles, concurrency=8,
                       backoff_base=0.01, backoff_cap=0.05)
    return replace(base, **over)


RUDE = {"zh": "你们都是废物", "en": "you are an idiot"}  # the simulated judge flags these


def judge_request(i: int, lang: str = "zh", rude: bool = False) -> LLMRequest:
    customer = f"我的卡第{i}次被锁了" if lang == "zh" else f"card {i}"
    if rude:
        customer += "，" + RUDE[lang] if lang == "zh" else ", " + RUDE[lang]
    dialogue = {"language": lang, "dialogue": [
        {"speaker": "customer", "text": customer},
        {"speaker": "supporter", "text": "您好，请您提供身份证号" if lang == "zh" else "hello"}]}
    content = "Judge this dialogue.\n```json\n" + json.dumps(dialogue, ensure_ascii=False) + "\n```"
    return LLMRequest(Role.PREFILTER_JUDGE, [{"role": "user", "content": content}],
                      item_key=f"d{i}", prompt_version="t1", response_type=PrefilterVerdict)


@pytest.fixture
def sim():
    with run_in_thread(SimConfig(seed=7)) as running:
        yield running


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal(tmp_path / "cache.sqlite")
    yield j
    j.close()


def run(gw: LLMGateway, reqs: list[LLMRequest]) -> list[LLMResult | LLMFailure]:
    async def go():
        try:
            return await gw.run_all(reqs)
        finally:
            await gw.aclose()
    return asyncio.run(go())


def test_settings_fail_fast_and_say_how_to_configure(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("CSC_LLM_BASE_URL", "CSC_LLM_API_KEY", "OPENAI_API_KEY", "CSC_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(LLMNotConfigured, match="CSC_LLM_BASE_URL"):
        load_settings()
    monkeypatch.setenv("CSC_LLM_BASE_URL", "https://llm.example/v1")
    with pytest.raises(LLMNotConfigured, match="CSC_LLM_API_KEY"):
        load_settings()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with pytest.raises(LLMNotConfigured, match="CSC_LLM_MODEL"):
        load_settings()
    monkeypatch.setenv("CSC_LLM_MODEL", "qwen-72b")
    monkeypatch.setenv("CSC_LLM_REWRITER_MODEL", "deepseek-r1")
    monkeypatch.setenv("CSC_LLM_SUPPORTER_TEMPERATURE", "0.3")
    s = load_settings()
    assert s.role(Role.REWRITER).model == "deepseek-r1"
    assert s.role(Role.REWRITER).temperature is None  # a reasoning model: no temperature
    assert s.role(Role.ANNOTATOR).model == "qwen-72b"
    assert s.role(Role.SUPPORTER).temperature == 0.3
    assert SECRET not in repr(s)
    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")
    monkeypatch.delenv("CSC_LLM_MODEL")
    monkeypatch.delenv("CSC_LLM_REWRITER_MODEL")
    assert load_settings().role(Role.PLANNER).model == "sim-planner"


def test_answers_are_parsed_logged_and_cached(sim, journal, warehouse):
    reqs = [judge_request(i) for i in range(12)]
    first = run(LLMGateway(settings_for(sim.base_url), journal, run_id="r1", stage="t"), reqs)
    assert all(isinstance(r, LLMResult) and isinstance(r.value, PrefilterVerdict) for r in first)
    served = sim.stats()["requests"]
    gw = LLMGateway(settings_for(sim.base_url), journal, run_id="r2", stage="t")
    second = run(gw, reqs)
    assert sim.stats()["requests"] == served  # the rerun cost zero calls
    assert all(r.cached for r in second) and gw.stats.cache_hits == 12
    assert [r.value for r in second] == [r.value for r in first]
    with connect(warehouse) as con:
        assert sync_journal(con, journal) == {"calls": 24, "dead_letters": 0}
        assert sync_journal(con, journal) == {"calls": 0, "dead_letters": 0}
        rows = query(con, "SELECT run_id, count(*), sum(cache_hit::INT) FROM ops.llm_calls "
                          "GROUP BY 1 ORDER BY 1")
        assert rows == [("r1", 12, 0), ("r2", 12, 12)]
        usage = query(con, "SELECT simulator, calls FROM marts.llm_usage WHERE run_id='r1'")
        assert usage == [(True, 12)]


def test_refresh_skips_the_cache_but_refills_it(sim, journal):
    reqs = [judge_request(i) for i in range(3)]
    run(LLMGateway(settings_for(sim.base_url), journal, run_id="a", stage="t"), reqs)
    before = sim.stats()["requests"]
    gw = LLMGateway(settings_for(sim.base_url), journal, run_id="b", stage="t", refresh=True)
    assert not any(r.cached for r in run(gw, reqs))
    assert sim.stats()["requests"] == before + 3


def test_retry_after_is_honoured_and_concurrency_adapts(sim, journal, monkeypatch):
    sim.configure(rate_429=0.5, retry_after_s=0.05)
    waits: list[float] = []
    real_sleep = asyncio.sleep
    here = threading.get_ident()

    async def spy(delay, *a, **k):
        # asyncio.sleep is patched for the whole process: count only this thread's (the
        # gateway's) sleeps, not those of a loop another test left running (a 30 s poll)
        if threading.get_ident() == here:
            waits.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(gateway_module.asyncio, "sleep", spy)
    gw = LLMGateway(settings_for(sim.base_url, max_attempts=12), journal, run_id="r",
                    stage="t")
    results = run(gw, [judge_request(i) for i in range(40)])
    assert all(isinstance(r, LLMResult) for r in results)
    assert waits and all(w == pytest.approx(0.05) for w in waits)  # Retry-After, not back-off
    assert gw.limiter.reductions >= 1 and gw.limiter.lowest < gw.limiter.maximum
    assert sum(r.attempts for r in results) > 40


def test_server_errors_and_timeouts_are_retried_with_backoff(sim, journal):
    # hangs far longer than the timeout, and a timeout far longer than a loaded machine's
    # ordinary answer: a timeout here is always a hang, never a slow core
    sim.configure(rate_500=0.3, rate_hang=0.1, hang_s=60.0)
    s = settings_for(sim.base_url, max_attempts=10)
    s = replace(s, roles={r: replace(v, timeout=2.0) for r, v in s.roles.items()})
    results = run(LLMGateway(s, journal, run_id="r", stage="t"),
                  [judge_request(i) for i in range(30)])
    assert all(isinstance(r, LLMResult) for r in results)
    assert any(r.attempts > 1 for r in results)


def test_unparseable_answers_are_reasked_then_dead_lettered(sim, journal, warehouse):
    sim.configure(rate_malformed=0.4)
    mixed = run(LLMGateway(settings_for(sim.base_url), journal, run_id="m", stage="t"),
                [judge_request(i) for i in range(30)])
    assert any(isinstance(r, LLMResult) and r.reasks > 0 for r in mixed)
    sim.configure(rate_malformed=1.0)
    dead = run(LLMGateway(settings_for(sim.base_url, max_reasks=2), journal, run_id="d",
                          stage="t"), [judge_request(100 + i) for i in range(3)])
    assert all(isinstance(r, LLMFailure) and r.kind == "dead" for r in dead)
    assert "after 2 re-asks" in dead[0].error
    with connect(warehouse) as con:
        sync_journal(con, journal)
        rows = query(con, "SELECT item_key, stage, error FROM ops.llm_dead_letter "
                          "WHERE run_id = 'd' ORDER BY item_key")
    assert [r[0] for r in rows] == ["d100", "d101", "d102"] and "re-asks" in rows[0][2]


def test_concurrency_bound_is_respected(sim, journal):
    # The upper bound is exact whatever the load. The lower bound (requests do overlap on the
    # wire) needs a second request to reach the server while the first is held: each one is
    # held 250 ms, a window that CPU contention cannot close (a request takes a few ms of CPU
    # to send), and it needs to happen only once in 6 rounds of 4.
    sim.configure(latency_ms=250)
    gw = LLMGateway(settings_for(sim.base_url, concurrency=4), journal, run_id="c", stage="t")
    results = run(gw, [judge_request(i) for i in range(24)])
    assert all(isinstance(r, LLMResult) for r in results)
    assert gw.limiter.max_seen == 4  # the client used its whole bound, and never more
    assert 2 <= sim.stats()["max_in_flight"] <= 4


# Why an item may end dead in the 20% run, and nothing else: it used all 4 transport attempts,
# or its answer stayed unreadable after the 1 re-ask allowed.
DEAD_REASON = re.compile(r"^(gave up after 4 attempts: |unusable answer after 1 re-asks: )")


# The post-filter judge's reasons when a dialogue fails a criterion it checks without a draw:
# no closure in the last two turns, or a bracketed note left in (simulator/responders.py).
UNFINISHED = {"zh": "对话没有以感谢与告别收尾，还没有结束。", "en": "The conversation is not finished."}
NOTE = {"zh": "对话中含有括号里的系统提示或旁白。", "en": "A bracketed system note remains."}
CLOSE = {"zh": "策略11 感谢与告别", "en": "Strategy 11 Appreciation & Closure"}


def judged_request(i: int, lang: str, unfinished: bool) -> LLMRequest:
    """A post-filter judge request whose answer is a pure function of (lang, unfinished): its
    reason says which criterion failed, in the dialogue's language."""
    customer = f"我的卡第{i}次被锁了" if lang == "zh" else f"card {i} is blocked"
    closing = "您好" if unfinished else ("再见（挂机）" if lang == "zh" else "Bye (hangs up)")
    dialogue = {"language": lang, "dialogue": [
        {"speaker": "customer", "strategy": "", "text": customer},
        {"speaker": "supporter", "strategy": "策略1 礼貌问候" if unfinished else CLOSE[lang],
         "text": closing}]}
    content = "Judge this dialogue.\n```json\n" + json.dumps(dialogue, ensure_ascii=False) + "\n```"
    return LLMRequest(Role.POSTFILTER_JUDGE, [{"role": "user", "content": content}],
                      item_key=f"d{i}", prompt_version="t1", response_type=PostfilterVerdict)


def expected_verdict(lang: str, unfinished: bool) -> tuple[str, str]:
    return "low", (UNFINISHED if unfinished else NOTE)[lang]


def test_every_item_is_answered_or_dead_lettered_under_20pct_faults(sim, journal, warehouse):
    # A hang sleeps far longer than the timeout, so every hang is a timeout; the timeout is
    # several times the longest normal answer seen on a loaded machine (~0.7 s, all 32 requests
    # in flight at once with the CPU shared by 3 processes), so a timeout is a hang, not a slow
    # answer. (With 0.12 s, CPU load turned answers into timeouts.) Hangs are 2%: each one costs
    # a worker the whole timeout, usually while 429s hold the concurrency near 1.
    sim.configure(rate_429=0.2, retry_after_s=0.02, rate_500=0.2, rate_hang=0.02, hang_s=60.0,
                  rate_malformed=0.2, rate_fenced=0.2, rate_reasoning=0.2,
                  rate_multi_strategy=0.2)
    s = settings_for(sim.base_url, concurrency=32, max_attempts=4, max_reasks=1)
    s = replace(s, roles={r: replace(v, timeout=2.0) for r, v in s.roles.items()})
    spec = {f"d{i}": ("zh" if i % 2 else "en", i % 3 == 0) for i in range(500)}
    reqs = [judged_request(i, *spec[f"d{i}"]) for i in range(500)]
    gw = LLMGateway(s, journal, run_id="f", stage="faults")
    results = run(gw, reqs)
    ok = [r for r in results if isinstance(r, LLMResult)]
    dead = [r for r in results if isinstance(r, LLMFailure) and r.kind == "dead"]
    # Per attempt an answer comes back with p = 0.8 * 0.8 * 0.98 = 0.63 (429, 500, hang), so
    # 4 attempts fail together with p = 0.37^4 = 2%; an answer is unreadable with p = 0.2,
    # twice with 4%: about 94% end ok (470). Without transport retries 0.63 * 0.9 = 57% would.
    assert len(ok) + len(dead) == 500 and len(ok) > 350
    assert sim.stats()["by_status"].get("499", 0) > 0  # some hangs were timed out
    assert [r.item_key for r in results] == [r.item_key for r in reqs]  # in input order
    # no item gave up early: every dead letter used all its attempts or its re-ask
    assert all(DEAD_REASON.match(r.error) for r in dead), {r.error[:60] for r in dead}
    # content, not only counts: each answer is the one for its own dialogue, in its language
    wrong = {r.item_key: (r.value.quality, r.value.reason, r.reasks) for r in ok
             if (r.value.quality, r.value.reason) != expected_verdict(*spec[r.item_key])}
    with connect(warehouse) as con:
        sync_journal(con, journal)
        n_dead = query(con, "SELECT count(*) FROM ops.llm_dead_letter WHERE run_id='f'")[0][0]
        n_ok = query(con, "SELECT count(DISTINCT item_key) FROM ops.llm_calls "
                          "WHERE run_id='f' AND status='ok'")[0][0]
        reasons = query(con, "SELECT error FROM ops.llm_dead_letter WHERE run_id='f'")
    assert n_dead == len(dead) and n_ok == len(ok)
    assert all(r[0] for r in reasons)  # every dead letter says why
    assert not wrong, wrong  # every answer, re-asked ones included, judges its own dialogue


def test_budget_cap_stops_new_work_cleanly(sim, journal):
    s = settings_for(sim.base_url, concurrency=1, budget_usd=0.0001,
                     prices={"sim-prefilter_judge": Price(input_per_1m=1000.0)})
    gw = LLMGateway(s, journal, run_id="b", stage="t")
    results = run(gw, [judge_request(i) for i in range(10)])
    deferred = [r for r in results if isinstance(r, LLMFailure) and r.kind == "deferred"]
    assert deferred and len(deferred) < 10
    assert "cost cap" in deferred[0].error and gw.stats.deferred == len(deferred)
    assert journal.count("dead_letters") == 0  # deferred work is retried next run, not dead
    # the cap is per run: a later batch of the same run starts with the run's spending
    later = run(LLMGateway(s, journal, run_id="b", stage="t"), [judge_request(50)])
    assert isinstance(later[0], LLMFailure) and later[0].kind == "deferred"
    fresh_run = run(LLMGateway(s, journal, run_id="b2", stage="t"), [judge_request(51)])
    assert isinstance(fresh_run[0], LLMResult)


JOURNAL_WRITER = """
import sys
from pathlib import Path
from csc.llm.journal import CallRow, Cached, Journal
j = Journal(Path(sys.argv[1]))
for i in range(200):
    key = f"{sys.argv[2]}-{i}"
    j.record(CallRow(call_id=key, run_id="r", stage="s", role="x", model="m", item_key=key,
                     prompt_hash=key, prompt_version="v"), key, Cached("m", "{}", None, 1, 1, 0))
"""


def test_two_processes_can_share_the_journal(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", JOURNAL_WRITER, str(path), name])
             for name in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    j = Journal(path)
    assert j.count("calls") == 400 and j.count("responses") == 400
    assert j.get("a-7") is not None and j.get("b-199") is not None
    j.close()


def test_secrets_never_reach_logs_tables_or_errors(sim, journal, warehouse, caplog):
    caplog.set_level(logging.DEBUG)
    sim.configure(rate_500=0.5)
    run(LLMGateway(settings_for(sim.base_url, max_attempts=2), journal, run_id="s",
                   stage="t"), [judge_request(i) for i in range(10)])
    bad = replace(settings_for(sim.base_url), roles={
        r: replace(v, model="gpt-not-served") for r, v in settings_for(sim.base_url).roles.items()})
    with pytest.raises(EndpointError) as info:
        run(LLMGateway(bad, journal, run_id="s2", stage="t"), [judge_request(0)])
    assert "gpt-not-served" in str(info.value)
    with connect(warehouse) as con:
        sync_journal(con, journal)
        dump = json.dumps([query(con, "SELECT * FROM ops.llm_calls"),
                           query(con, "SELECT * FROM ops.llm_dead_letter")], default=str)
    assert SECRET not in dump and SECRET not in caplog.text and SECRET not in str(info.value)
    assert SECRET not in Path(journal.path).read_bytes().decode("utf-8", "ignore")


KILLED_AS_CALL_RETURNS = """
import asyncio, os, signal, sys
from pathlib import Path
from csc.llm.gateway import LLMGateway, LLMRequest
from csc.llm.journal import Journal
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import PrefilterVerdict, Role

url, path, content = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
roles = {r: RoleSettings(model=f"sim-{r.value}", temperature=0.0, max_tokens=None, timeout=10.0)
         for r in Role}
gw = LLMGateway(LLMSettings(base_url=url, api_key="sim-key", roles=roles), Journal(path),
                run_id="k", stage="t")
req = LLMRequest(Role.PREFILTER_JUDGE, [{"role": "user", "content": content}], item_key="d1",
                 prompt_version="t1", response_type=PrefilterVerdict)

async def go():
    await gw.call(req)
    os.kill(os.getpid(), signal.SIGKILL)  # the moment `call` returns: no close, no exit hook

asyncio.run(go())
"""


def test_an_answer_is_committed_before_call_returns(sim, tmp_path):
    """kill -9 right after `call` returns loses nothing: the answer and its call-log row are
    in the journal (WAL with synchronous=NORMAL is durable across a crash of the process)."""
    import signal
    import subprocess
    import sys

    path = tmp_path / "killed.sqlite"
    content = judge_request(1).messages[0]["content"]
    proc = subprocess.run([sys.executable, "-c", KILLED_AS_CALL_RETURNS, sim.base_url,
                           str(path), content], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    j = Journal(path)
    try:
        assert j.count("responses") == 1
        assert j.count("calls", "status = 'ok' AND item_key = 'd1'") == 1
    finally:
        j.close()


def test_checkpoints_run_on_a_thread_of_their_own_not_in_a_commit(tmp_path):
    """A checkpoint fsyncs (5-90 ms on a busy disk); run inside a commit, it would stall the
    event loop and every request in flight. The caller's commits only write the WAL."""
    import threading
    import time

    from csc.llm.journal import (
        CHECKPOINT_EVERY,
        FALLBACK_CHECKPOINT_PAGES,
        Cached,
        CallRow,
    )

    path = tmp_path / "cache.sqlite"
    j = Journal(path)
    assert j._con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_CHECKPOINT_PAGES
    empty = path.stat().st_size
    n = 2 * CHECKPOINT_EVERY  # far below the fallback: no commit checkpoints by itself
    for i in range(n):
        j.record(CallRow(call_id=f"c{i}", run_id="r", stage="s", role="x", model="m",
                         item_key=f"i{i}", prompt_hash=f"k{i}", prompt_version="v"),
                 f"k{i}", Cached("m", "{}", None, 1, 1, 0))
    deadline = time.monotonic() + 10
    while path.stat().st_size == empty and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.stat().st_size > empty  # the WAL was copied back into the database file
    thread = j._checkpointer._thread
    assert thread is not None and thread is not threading.current_thread()
    assert thread.is_alive()
    j.close()
    assert not thread.is_alive()  # close stops it
    assert not path.with_name(path.name + "-wal").exists()  # and the last close checkpoints
    again = Journal(path)
    try:
        assert again.count("responses") == n and again.count("calls") == n
    finally:
        again.close()
