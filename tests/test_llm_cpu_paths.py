"""What the gateway no longer does on the event loop for every call, and that it still means
the same: the journal's writer thread (record_soon), the templates read once per gateway, the
call ids, and split_reasoning's shortcut for answers without a <think> tag."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

import pytest

import csc.llm.journal as journal_module
from csc.errors import StorageError
from csc.llm.asking import request_for, template_for
from csc.llm.gateway import LLMGateway
from csc.llm.journal import Cached, CallRow, Journal
from csc.llm.parsing import split_reasoning
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import DialogueInput, InputTurn, Role


def row(i: int) -> CallRow:
    return CallRow(call_id=f"c{i}", run_id="r", stage="s", role="x", model="m",
                   item_key=f"i{i}", prompt_hash=f"k{i}", prompt_version="v")


def answer() -> Cached:
    return Cached("m", "{}", None, 1, 1, 0)


def test_record_soon_is_done_only_once_the_commit_is(tmp_path: Path, monkeypatch):
    path = tmp_path / "cache.sqlite"
    journal = Journal(path)
    record, gate, seen = Journal.record, threading.Event(), []

    def slow_record(self, call, key=None, answer=None):
        gate.wait(5)  # the writer thread holds here until the test lets it go
        record(self, call, key, answer)
        seen.append(threading.current_thread().name)

    monkeypatch.setattr(Journal, "record", slow_record)

    async def go() -> None:
        futures = [journal.record_soon(row(i), f"k{i}", answer()) for i in range(5)]
        await asyncio.sleep(0.05)
        assert not any(f.done() for f in futures)  # nothing committed yet
        other = Journal(path)
        try:
            assert other.count("calls") == 0
            gate.set()
            await asyncio.gather(*futures)
            # done: committed, so another connection (or process) sees all of it
            assert other.count("calls") == 5 and other.count("responses") == 5
        finally:
            other.close()

    asyncio.run(go())
    assert seen and all(name.startswith("journal ") for name in seen)  # not the loop's thread
    journal.close()


def test_record_soon_raises_what_record_raised(tmp_path: Path, monkeypatch):
    journal = Journal(tmp_path / "cache.sqlite")

    def full(self, call, key=None, answer=None):
        raise StorageError("the disk holding the LLM cache is full")

    async def go() -> None:
        await journal.record_soon(row(1), "k1", answer())  # fine
        monkeypatch.setattr(Journal, "record", full)
        with pytest.raises(StorageError, match="full"):
            await journal.record_soon(row(2), "k2", answer())

    asyncio.run(go())
    monkeypatch.undo()
    assert journal.count("calls") == 1
    journal.close()


def test_the_writer_thread_ends_when_idle_and_close_writes_what_is_queued(tmp_path: Path,
                                                                          monkeypatch):
    monkeypatch.setattr(journal_module, "WRITER_IDLE_S", 0.05)
    journal = Journal(tmp_path / "cache.sqlite")

    async def some(start: int) -> None:
        await asyncio.gather(*(journal.record_soon(row(i), f"k{i}", answer())
                               for i in range(start, start + 3)))

    asyncio.run(some(0))
    deadline = time.monotonic() + 5
    while journal._writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert journal._writer._thread is None  # idle: gone, so it keeps nothing alive
    asyncio.run(some(3))  # and comes back for the next record
    assert journal.count("calls") == 6

    async def queue_then_leave() -> None:
        journal.record_soon(row(9), "k9", answer())  # not awaited

    asyncio.run(queue_then_leave())
    journal.close()  # writes it before closing
    again = Journal(tmp_path / "cache.sqlite")
    assert again.count("calls") == 7 and again.get("k9") is not None
    again.close()


def _settings() -> LLMSettings:
    roles = {r: RoleSettings(model=f"sim-{r.value}", temperature=0.0, max_tokens=None,
                             timeout=5.0) for r in Role}
    return LLMSettings(base_url="http://127.0.0.1:9/v1", api_key="k", roles=roles)


def test_call_ids_are_unique_32_hex_digits(tmp_path: Path):
    journal = Journal(tmp_path / "cache.sqlite")
    gateways = [LLMGateway(_settings(), journal, run_id="r", stage="s") for _ in range(2)]
    ids = [gw._account(
        request_for(Role.PREFILTER_JUDGE, {"language": "zh", "dialogue": []}, "zh", "d1"),
        "key", "ok", [1, 1, 0], 0.0, 1, 0, time.monotonic(), None).call_id
        for gw in gateways for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    journal.close()


def test_templates_read_once_per_gateway_give_the_same_request(monkeypatch):
    payload = DialogueInput(language="zh", dialogue=[
        InputTurn(speaker="customer", text="你好"), InputTurn(speaker="supporter", text="您好")])
    memo: dict = {}
    for role in (Role.PREFILTER_JUDGE, Role.REWRITER, Role.POSTFILTER_JUDGE):
        plain = request_for(role, payload, "zh", "d1")
        once = request_for(role, payload, "zh", "d1", templates=memo)
        again = request_for(role, payload, "zh", "d1", templates=memo)
        assert plain == once == again
    # the variant is read with the template, once: a gateway's run keeps what it started with
    monkeypatch.setenv("CSC_POSTFILTER_JUDGE_VARIANT", "strict")
    kept = template_for(Role.POSTFILTER_JUDGE, "zh", memo)
    fresh = template_for(Role.POSTFILTER_JUDGE, "zh")
    assert kept[0].version.startswith("postfilter_judge.zh@")
    assert fresh[0].version.startswith("postfilter_judge.strict.zh@")
    assert fresh[1] is not kept[1]  # the strict variant's answer type


@pytest.mark.parametrize("content, reasoning", [
    ('{"a": 1}', None), ('  {"a": 1}\n', "thought"), ("", None), ("", ""), ("plain < text >", None),
    ('<think>x</think>{"a": 1}', None), ('<THINK>x</Think> {"a": "<think>y</think>"}', "r"),
    ('pre <think>x</think> post', None), ("<think>unclosed", None),
])
def test_split_reasoning_with_and_without_a_tag(content, reasoning):
    split = split_reasoning(content, reasoning)
    if "<think>" not in content.lower():
        assert split.answer == content.strip() and split.reasoning == (reasoning or None)
    else:
        assert "x" not in split.answer or "<think>y" in split.answer


def test_the_prompt_json_block_is_json_dumps_character_for_character():
    import json
    import random

    from csc.prompts import json_block

    rng = random.Random(1)
    chars = ["a", "中", "\n", '"', "\\", "\u2028", "\x00", "é", "😀", " ", "/", "\t"]

    def text() -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randrange(6)))

    def value(depth: int = 0):
        kind = rng.randrange(9 if depth < 4 else 6)
        if kind == 0:
            return text()
        if kind == 1:
            return None
        if kind == 2:
            return rng.choice([True, False])
        if kind == 3:
            return rng.randrange(-10**20, 10**20)
        if kind == 4:
            return rng.choice([0.1, -0.0, 1e300, 1.5e-7, float("nan"), float("inf"),
                               -float("inf"), 3.0])
        if kind == 5:
            return []
        if kind == 6:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 7:
            return {text(): value(depth + 1) for _ in range(rng.randrange(4))}
        return (value(depth + 1), {})

    for _ in range(5000):
        v = value()
        assert json_block(v) == json.dumps(v, ensure_ascii=False, indent=1)
    odd = {1: "a", "b": {2.5: [None]}}  # keys json.dumps turns into strings
    assert json_block(odd) == json.dumps(odd, ensure_ascii=False, indent=1)
