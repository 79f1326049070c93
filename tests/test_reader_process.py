"""A large file is read in a child process (csc.ingest.reader_process). Whatever the file, the
child must yield exactly what the in-thread reader yields, raise what it would raise, and never
outlive the ingest that started it."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import GOOD_ZH, dialogue, query_all, write_jsonl

from csc.ingest import reader_process
from csc.ingest.chunks import read_chunks
from csc.ingest.reader_process import ReaderProcess, ReaderProcessFailed
from csc.ingest.readers import FileUnreadable
from csc.ingest.service import ingest_path
from csc.ingest.sources import source_for_file


def _files(root: Path) -> list[Path]:
    """One file per kind of trouble a reader meets, each mixed with good records."""
    root.mkdir()
    big = "很" * 3_000_000
    jsonl = write_jsonl(root / "mixed.jsonl", [
        dialogue("a"), "{not json", dialogue("b", [("客户", big), ("客服", "好的")]),
        {"id": {"nested": 1}, "turns": [{"speaker": "客户", "text": "你好"}]},
        dialogue("a", [("客户", "别的内容"), ("客服", "好")]), dialogue("c", [("客户", "  ")]),
        dialogue("d", [("客户", "打13812345678找我"), ("客服", "收到")]),
    ])
    with jsonl.open("ab") as fh:
        fh.write(b'{"id": "bad-\xff-byte", "turns": []}\n')
    cut = gzip.compress(b"".join(json.dumps(dialogue(f"g{i}"), ensure_ascii=False).encode()
                                 + b"\n" for i in range(50)))
    (root / "cut.jsonl.gz").write_bytes(cut[: len(cut) * 2 // 3])
    (root / "rows.csv").write_text(
        "dialogue_id,speaker,text\nx1,customer,hello there\nx1,agent,hi - how can I help?\n"
        "x2,robot,beep\nx2,customer,\n", encoding="utf-8")
    (root / "utf16.csv").write_bytes(
        "dialogue_id,speaker,text\ny1,customer,héllo\ny1,agent,hi\n".encode("utf-16"))
    (root / "chat.txt").write_text("客户：你好\n客服：您好\nApp version: 8.4\n\n客户：再见\n",
                                   encoding="utf-8")
    return sorted(root.iterdir())


def _rows(chunks) -> list:
    return [(c.lines.rows(), c.recs.rows(), c.rejected) for c in chunks]


@pytest.mark.parametrize("batch_records", [1, 3, 25_000])
def test_the_child_reads_every_file_exactly_as_the_thread_does(tmp_path, batch_records):
    for path in _files(tmp_path / "in"):
        cfg = source_for_file(path)
        here = _rows(read_chunks(path, cfg, batch_records))
        assert here, path
        assert _rows(ReaderProcess(path, cfg, batch_records)) == here, path.name


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00", b"dialogue_id,speaker,t\xe9xt\n"])
def test_a_file_the_thread_cannot_read_fails_the_same_way_in_the_child(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    cfg = source_for_file(path)
    with pytest.raises(FileUnreadable) as here:
        list(read_chunks(path, cfg, 10))
    with pytest.raises(FileUnreadable) as there:
        list(ReaderProcess(path, cfg, 10))
    assert (there.value.check, str(there.value)) == (here.value.check, str(here.value))


def test_a_child_that_dies_is_a_clear_error(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "a.jsonl", [dialogue("a")])
    monkeypatch.setattr(reader_process, "_command", lambda: [
        sys.executable, "-c", "import sys; sys.stdin.buffer.read(); sys.exit(3)"])
    with pytest.raises(ReaderProcessFailed, match=r"ended unexpectedly \(exit code 3\)"):
        list(ReaderProcess(path, source_for_file(path), 10))


def test_closing_the_reader_early_stops_the_child(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "a.jsonl", [dialogue(f"d{i}") for i in range(40)])
    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def remember(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(reader_process.subprocess, "Popen", remember)
    chunks = ReaderProcess(path, source_for_file(path), 1)
    assert next(chunks).recs.height == 1
    chunks.close()
    assert started[0].returncode is not None  # stopped and reaped: no orphan left behind
    with pytest.raises(ProcessLookupError):
        os.kill(started[0].pid, 0)


def test_a_folder_ingested_through_children_is_stored_as_through_threads(
        tmp_path, monkeypatch):
    folder = tmp_path / "in"
    _files(folder)
    tables = ("raw.dialogues", "raw.utterances", "staging.prefilter", "raw.quarantine")

    def stored(db: Path) -> list:
        report = ingest_path(folder, "run-r", db=db)
        assert report.reconciles
        columns = {"raw.dialogues": "* EXCLUDE (ingested_at)",
                   "raw.quarantine": "* EXCLUDE (quarantined_at)",
                   "staging.prefilter": "* EXCLUDE (evaluated_at)"}
        return [[f.as_dict() | {"path": Path(f.path).name} for f in report.files]] + [
            sorted(query_all(db, f"SELECT {columns.get(t, '*')} FROM {t}"), key=repr)
            for t in tables]

    by_thread = stored(tmp_path / "thread.duckdb")
    monkeypatch.setattr(reader_process, "MIN_BYTES", 0)
    assert stored(tmp_path / "child.duckdb") == by_thread
    assert by_thread[1] and by_thread[4]  # something kept, something quarantined


def test_only_large_files_get_a_process(tmp_path, monkeypatch):
    from csc.ingest import pipeline

    small = write_jsonl(tmp_path / "small.jsonl", [dialogue("a", GOOD_ZH)])
    calls: list[str] = []
    monkeypatch.setattr(pipeline, "ReaderProcess",
                        lambda *a: calls.append("process") or read_chunks(*a))
    list(pipeline.iter_batches(small, source_for_file(small)))
    assert calls == []
    monkeypatch.setattr(reader_process, "MIN_BYTES", small.stat().st_size)
    list(pipeline.iter_batches(small, source_for_file(small)))
    assert calls == ["process"]


def _children() -> set[int]:
    """Live child processes of this one (Linux /proc; reaped children are gone from it)."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


def test_no_reader_process_outlives_its_ingest(tmp_path, monkeypatch):
    from csc.ingest import pipeline

    folder = tmp_path / "in"
    _files(folder)
    monkeypatch.setattr(reader_process, "MIN_BYTES", 0)
    before = _children()
    db = tmp_path / "w.duckdb"
    first = ingest_path(folder, "run-1", db=db)
    again = ingest_path(folder, "run-2", db=db)  # unchanged: each child is stopped unread
    assert all(f.skipped_unchanged for f in again.files) and first.reconciles
    assert _children() == before
    monkeypatch.setattr(pipeline, "build_batch", lambda *a: 1 / 0)
    failed = ingest_path(folder, "run-3", db=db, force=True)  # fails after the child started
    assert all("ZeroDivisionError" in (f.error or "") for f in failed.files)
    assert _children() == before


def test_chunks_start_at_a_quarter_double_and_hold_at_most_batch_records(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [dialogue(f"d{i}") for i in range(25)] + ["{bad"])
    sizes = [c.records for c in read_chunks(path, source_for_file(path), 8)]
    assert sizes == [2, 4, 8, 8, 4]  # 26 records: rejected ones count towards a chunk too
    sizes = [c.records for c in read_chunks(path, source_for_file(path), 20)]
    assert sizes == [5, 10, 11]  # the doubling stops at batch_records
    assert [c.records for c in read_chunks(path, source_for_file(path), 1)] == [1] * 26


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its parent can reap it


def test_a_killed_ingest_leaves_no_reader_process(tmp_path):
    import signal
    import time

    path = write_jsonl(tmp_path / "a.jsonl", [dialogue(f"d{i}") for i in range(200)])
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from csc.ingest.reader_process import ReaderProcess\n"
        "from csc.ingest.sources import load_source\n"
        f"r = ReaderProcess(Path({str(path)!r}), load_source('jsonl'), 1)\n"
        "next(r)\n"
        "print(r._proc.pid, flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)  # no cleanup code runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
