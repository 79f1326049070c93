"""The simulator's request log (CSC_SIMULATOR_REQUEST_LOG): one JSON line per chat-completions
request received, so a kill test can count what the endpoint was really asked (issue 11 B1).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

import csc.llm.endpoint as endpoint
from schemas.llm import ROLE_HEADER, Role
from simulator import SimConfig, SimulatorProcess, run_in_thread
from simulator.__main__ import main as simulator_main
from simulator.requestlog import REQUEST_LOG_ENV, read_request_log


def messages(i: int) -> list[dict]:
    block = json.dumps({"language": "en", "dialogue": [
        {"speaker": "customer", "text": f"my card {i} was charged twice"},
        {"speaker": "supporter", "text": "Hello, how can I help?"}]})
    return [{"role": "system", "content": "Judge the dialogue."},
            {"role": "user", "content": f"Judge it.\n\n```json\n{block}\n```"}]


def sha(msgs: list[dict]) -> str:
    """The digest the log promises: sha256 of the messages as compact, key-sorted JSON."""
    return hashlib.sha256(json.dumps(msgs, ensure_ascii=False, sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def ask(base_url: str, i: int, role: Role = Role.PREFILTER_JUDGE) -> None:
    with openai.OpenAI(base_url=base_url, api_key="sim-key", max_retries=0, timeout=10) as c:
        c.chat.completions.create(model=f"sim-{role.value}", messages=messages(i),
                                  extra_headers={ROLE_HEADER: role.value})


def test_each_request_is_one_line_naming_its_role_messages_and_faults(tmp_path: Path):
    log = tmp_path / "requests.jsonl"
    with run_in_thread(SimConfig(seed=1), request_log=log) as sim:
        ask(sim.base_url, 1)
        ask(sim.base_url, 1)
        ask(sim.base_url, 2, Role.ANNOTATOR)
        sim.configure(rate_500=1.0)
        with pytest.raises(openai.InternalServerError):
            ask(sim.base_url, 3)
        sim.configure(rate_500=0.0, rate_malformed=1.0)
        ask(sim.base_url, 4)
        sim.configure(rate_malformed=0.0)
        refused = httpx.post(f"{sim.base_url}/chat/completions",
                             json={"model": "gpt-4o", "messages": messages(5)})
        assert refused.status_code == 404
    records = read_request_log(log)
    assert [r["role"] for r in records] == ["prefilter_judge", "prefilter_judge", "annotator",
                                            "prefilter_judge", "prefilter_judge", None]
    assert [r["messages_sha256"] for r in records] == [sha(messages(i))
                                                      for i in (1, 1, 2, 3, 4, 5)]
    assert [r["faults"] for r in records] == [[], [], [], ["500"], ["malformed"], []]
    assert [r["fault_injected"] for r in records] == [False] * 3 + [True, True, False]
    assert [r["rejected"] for r in records] == [None] * 5 + [404]
    assert {r["pid"] for r in records} == {os.getpid()}
    times = [r["time"] for r in records]
    assert times == sorted(times)


def test_no_log_unless_asked(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(REQUEST_LOG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with run_in_thread(SimConfig()) as sim:
        ask(sim.base_url, 1)
    assert list(tmp_path.iterdir()) == []


def test_the_simulator_csc_starts_for_itself_inherits_the_variable(tmp_path: Path,
                                                                   monkeypatch):
    """CSC_LLM_BASE_URL=simulator: csc starts the simulator as a child process; the variable
    set for csc reaches it."""
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv(REQUEST_LOG_ENV, str(log))
    monkeypatch.setattr(endpoint, "_simulator", None)
    url = endpoint.simulator_url()
    child = endpoint._simulator
    try:
        ask(url, 1)
        ask(url, 2)
    finally:
        child.stop()
    records = read_request_log(log)
    assert len(records) == 2 and {r["pid"] for r in records} == {child.proc.pid}


def test_a_kill_9_loses_no_answered_request_and_processes_share_one_file(tmp_path: Path):
    """One client asks the first simulator one request at a time until a kill -9 stops it:
    every answered request is in the log (logged before it is answered), and at most the one
    in flight more. A second simulator appends to the same file meanwhile; every line of both
    stays whole."""
    log = tmp_path / "requests.jsonl"
    first = SimulatorProcess(SimConfig(seed=1, latency_ms=20), request_log=log).start()
    second = SimulatorProcess(SimConfig(seed=2), request_log=log).start()
    answered: list[int] = []

    def until_killed() -> None:
        i = 0
        while True:
            try:
                ask(first.base_url, i)
            except openai.APIConnectionError:
                return
            answered.append(i)
            i += 1

    def burst() -> None:
        for i in range(40):
            ask(second.base_url, 1000 + i)

    threads = [threading.Thread(target=until_killed), threading.Thread(target=burst)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(answered) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(first.proc.pid, signal.SIGKILL)  # no chance to flush or close anything
        first.proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=120)
    finally:
        first.stop()
        second.stop()
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    logged = [r["messages_sha256"] for r in records if r["pid"] == first.proc.pid]
    assert len(answered) >= 15
    assert logged[:len(answered)] == [sha(messages(i)) for i in answered]
    assert len(answered) <= len(logged) <= len(answered) + 1
    others = sorted(r["messages_sha256"] for r in records if r["pid"] == second.proc.pid)
    assert others == sorted(sha(messages(1000 + i)) for i in range(40))
    assert len(records) == len(logged) + 40


def test_an_unwritable_log_stops_the_simulator_at_start(tmp_path: Path, capsys):
    missing = tmp_path / "no-such-dir" / "requests.jsonl"
    assert simulator_main(["--port", "0", "--request-log", str(missing)]) == 2
    assert "no-such-dir" in capsys.readouterr().err
