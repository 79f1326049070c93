"""csc.ingest.collector: the garbage collector is paused for one file's ingest and is back as
it was afterwards, whatever happened inside."""

from __future__ import annotations

import gc

import pytest
from helpers import dialogue, ingest, write_jsonl

from csc.ingest import collector


@pytest.fixture
def gc_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_then_enabled_again_even_after_an_error(gc_restored) -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector.paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off(gc_restored) -> None:
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_items_pass_through_in_order_with_a_pass_between(monkeypatch) -> None:
    passes: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: passes.append(generation) or 0)
    seen = []
    for item in collector.collected_between(iter("abc")):
        seen.append((item, len(passes)))
    assert seen == [("a", 0), ("b", 1), ("c", 2)] and passes == [0, 0, 0]


def test_ingest_leaves_the_collector_on(tmp_path, gc_restored) -> None:
    gc.enable()
    good = write_jsonl(tmp_path / "good.jsonl", [dialogue("a")])
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe\x00\x00")  # fails as a whole file
    for path in (good, bad):
        ingest(path, tmp_path / "w.duckdb")
        assert gc.isenabled()
