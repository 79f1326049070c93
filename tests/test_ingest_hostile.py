"""Hostile input files (issue 10): a bad file never stops the others, every record ends kept or
quarantined with a short reason, and the counts reconcile."""

from __future__ import annotations

import errno
import gzip
import io
import json
import zlib
from pathlib import Path

import pytest
from helpers import GOOD_ZH, count, dialogue, ingest, query_all, write_jsonl

from csc.ingest.service import ingest_path, is_transient
from warehouse.db import WarehouseBusy

GOOD_EN = ("customer,my card was blocked yesterday\n"
           "agent,sorry to hear that - may I have your name?\n"
           "customer,Sam Lee\n"
           "agent,thanks Sam - the card is unlocked now\n")


def _csv(dialogue_id: str, name: str = "Sam Lee") -> str:
    rows = GOOD_EN.replace("Sam Lee", name).splitlines()
    return "".join(f"{dialogue_id},{row}\n" for row in rows)


def _quarantine(db: Path, check: str) -> list[tuple]:
    return query_all(db, 'SELECT record_no, line_no, reason, payload, source_file '
                         'FROM raw.quarantine WHERE "check" = ? ORDER BY source_file, record_no'
                         .replace("?", f"'{check}'"))


def _hostile_folder(root: Path) -> Path:
    """A good file, two that used to crash ingest, and a good file sorted after them."""
    drop = root / "drop"
    drop.mkdir()
    (drop / "a_good.csv").write_text("dialogue_id,speaker,text\n" + _csv("a1"), encoding="utf-8")
    (drop / "b_latin1_header.csv").write_bytes(
        b"dialogue_id,speaker,t\xe9xt\nd1,customer,hello there\n")
    (drop / "c_utf16.csv").write_bytes(
        ("dialogue_id,speaker,text\n" + _csv("c1", "Kim Park")).encode("utf-16"))
    write_jsonl(drop / "d_good.jsonl", [dialogue("d1")])
    return drop


# A1 -----------------------------------------------------------------------------------------

def test_a_folder_with_bad_files_reads_every_file(tmp_path, warehouse):
    report = ingest_path(_hostile_folder(tmp_path), "run-a1", source=None, db=warehouse)
    by_name = {Path(f.path).name: f for f in report.files}
    assert sorted(by_name) == ["a_good.csv", "b_latin1_header.csv", "c_utf16.csv",
                               "d_good.jsonl"]
    assert report.reconciles
    assert (by_name["a_good.csv"].new, by_name["d_good.jsonl"].new) == (1, 1)
    assert by_name["c_utf16.csv"].new == 1  # read, not refused (A2)
    latin = by_name["b_latin1_header.csv"]
    assert (latin.records, latin.quarantined) == (1, 1)
    assert latin.error.endswith(
        "b_latin1_header.csv is not UTF-8 (looks like Latin-1/Windows-1252); "
        "re-save it as UTF-8")
    assert len(_quarantine(warehouse, "not_utf8")) == 1


def test_an_unexpected_error_in_one_file_is_quarantined_and_the_run_goes_on(
        tmp_path, warehouse, monkeypatch):
    import csc.ingest.pipeline as pipeline

    drop = tmp_path / "drop"
    drop.mkdir()
    write_jsonl(drop / "a.jsonl", [dialogue("a")])
    write_jsonl(drop / "b.jsonl", [dialogue("b", GOOD_ZH[:8])])
    real = pipeline.build_batch

    def explode_on_b(chunk, cfg, source_file, rules):
        if source_file.endswith("b.jsonl"):
            raise KeyError("boom")
        return real(chunk, cfg, source_file, rules)

    monkeypatch.setattr(pipeline, "build_batch", explode_on_b)
    report = ingest_path(drop, "run-x", db=warehouse)
    a, b = report.files
    assert (a.new, b.new, b.records, b.quarantined) == (1, 0, 1, 1) and report.reconciles
    assert b.error == "ingest failed on this file (KeyError: 'boom'); nothing of it was stored"
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 1
    assert count(warehouse, "SELECT count(*) FROM raw.files") == 1  # b is read again next run
    assert [r[2] for r in _quarantine(warehouse, "ingest_failed")] == [b.error]


def test_only_transient_failures_are_retried():
    assert is_transient(OSError(errno.EIO, "Input/output error"))
    assert is_transient(WarehouseBusy("held by another process"))
    for exc in (PermissionError(errno.EACCES, "denied"), FileNotFoundError(2, "gone"),
                gzip.BadGzipFile("bad"), UnicodeEncodeError("utf-8", "x", 0, 1, "no"),
                ValueError("bad data"), KeyError("x")):
        assert not is_transient(exc), exc


def test_the_task_retries_only_transient_failures():
    from prefect.states import Failed

    from tasks.ingest import ingest_file_task, retry_if_transient

    assert ingest_file_task.retry_condition_fn is retry_if_transient
    assert retry_if_transient(ingest_file_task, None, Failed(data=OSError(errno.EIO, "io")))
    assert not retry_if_transient(ingest_file_task, None, Failed(data=ValueError("bad")))


@pytest.mark.prefect
def test_the_cli_reads_every_file_of_a_hostile_folder(tmp_path, warehouse, prefect_server,
                                                       capsys):
    from cli.main import main

    drop = _hostile_folder(tmp_path)
    assert main(["ingest", str(drop), "--json"]) == 0  # something was ingested: exit 0
    report = json.loads(capsys.readouterr().out)
    assert [Path(f["path"]).name for f in report["files"]] == [
        "a_good.csv", "b_latin1_header.csv", "c_utf16.csv", "d_good.jsonl"]
    assert report["reconciles"] and report["totals"]["new"] == 3
    assert "looks like Latin-1" in report["files"][1]["error"]


# A2 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "lines"])
def test_utf16_and_utf32_files_with_a_bom_are_read(tmp_path, warehouse, codec, fmt):
    bom = "\ufeff".encode(codec)
    text = {
        "jsonl": json.dumps(dialogue("u1"), ensure_ascii=False) + "\n",
        "json": json.dumps([dialogue("u1")], ensure_ascii=False),
        "csv": "dialogue_id,speaker,text\n" + _csv("u1"),
        "lines": "".join(f"{s}：{t}\n" for s, t in GOOD_ZH),
    }[fmt]
    f = tmp_path / f"in.{fmt}"
    f.write_bytes(bom + text.encode(codec))
    s = ingest(f, warehouse, source=fmt)
    assert (s.records, s.new, s.quarantined) == (1, 1, 0), s
    first = query_all(warehouse, "SELECT text FROM raw.utterances WHERE utt_index = 0")
    assert first == [("my card was blocked yesterday",)] if fmt == "csv" else [
        ("你好，我的银行卡昨天被锁了，登录不上手机银行",)]


def test_a_utf8_bom_keeps_working_in_every_format(tmp_path, warehouse):
    f = tmp_path / "bom.json"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps([dialogue("b1")], ensure_ascii=False).encode())
    assert ingest(f, warehouse, source="json").new == 1
    c = tmp_path / "bom.csv"
    c.write_bytes(b"\xef\xbb\xbf" + ("dialogue_id,speaker,text\n" + _csv("b2")).encode())
    assert ingest(c, warehouse, source="csv").new == 1


@pytest.mark.parametrize(("data", "guess"), [
    ("dialogue_id,speaker,text\nd1,customer,hi\n".encode("utf-16-le"),
     "UTF-16 (little-endian) without a byte-order mark"),
    ("dialogue_id,speaker,text\nd1,customer,hi\n".encode("utf-16-be"),
     "UTF-16 (big-endian) without a byte-order mark"),
    ("dialogue_id,speaker,text\nd1,客户,你好，我的银行卡被锁了\n".encode("gb18030"), "GBK/GB18030"),
    ("dialogue_id,speaker,text\nd1,customer,café crème\n".encode("cp1252"),
     "Latin-1/Windows-1252"),
])
def test_a_file_in_another_encoding_is_one_clear_line(tmp_path, warehouse, data, guess):
    f = tmp_path / "x.csv"
    f.write_bytes(data)
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.quarantined) == (1, 1)
    assert s.error == f"{f} is not UTF-8 (looks like {guess}); re-save it as UTF-8"


def test_one_bad_byte_in_a_utf8_file_is_one_record(tmp_path, warehouse):
    f = tmp_path / "one.csv"
    ok = _csv("ok", "Zoë Brûlée-Lefèvre")  # more valid UTF-8 than bad bytes: a UTF-8 file
    f.write_bytes(("dialogue_id,speaker,text\n" + ok + "bad,customer,caf").encode()
                  + b"\xe9\n" + b"bad,agent,oui\n")
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.new, s.quarantined) == (2, 1, 1)
    assert _quarantine(warehouse, "invalid_utf8")[0][2] == "line 6 is not valid UTF-8"


def test_undecodable_bytes_in_a_utf8_csv_header_do_not_crash(tmp_path, warehouse):
    f = tmp_path / "h.csv"
    f.write_bytes("dialogue_id,speaker,\u6587\u672c".encode() + b"\xff\n"
                  + "d1,客户,你好\n".encode())
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.quarantined) == (1, 1)
    assert s.error == (f"{f}: CSV header lacks column(s) text; found 'dialogue_id', 'speaker', "
                       "'文本\\xff'")


@pytest.mark.prefect
def test_a_transient_failure_is_retried_then_quarantined_and_the_run_goes_on(
        tmp_path, warehouse, prefect_server, monkeypatch):
    import tasks.ingest as tasks
    from flows.ingest import ingest as ingest_flow

    drop = tmp_path / "drop"
    drop.mkdir()
    write_jsonl(drop / "a.jsonl", [dialogue("a")])
    write_jsonl(drop / "b.jsonl", [dialogue("b", GOOD_ZH[:8])])
    attempts: list[str] = []
    real = tasks.ingest_file

    def flaky_disk(path, cfg, run_id, **kw):
        attempts.append(path.name)
        if path.name == "a.jsonl":
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path, cfg, run_id, **kw)

    monkeypatch.setattr(tasks, "ingest_file", flaky_disk)
    monkeypatch.setattr(tasks.ingest_file_task, "retry_delay_seconds", 0)
    report = ingest_flow(path=str(drop))
    assert attempts == ["a.jsonl"] * 3 + ["b.jsonl"]  # retried twice, then given up
    a, b = report["files"]
    assert (a["records"], a["quarantined"], b["new"]) == (1, 1, 1) and report["reconciles"]
    assert a["error"] == f"cannot read {drop / 'a.jsonl'}: Input/output error (gave up after retrying)"


@pytest.mark.prefect
def test_bad_data_is_not_retried(tmp_path, warehouse, prefect_server, monkeypatch):
    import tasks.ingest as tasks
    from flows.ingest import ingest as ingest_flow

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "latin.csv").write_bytes(b"dialogue_id,speaker,t\xe9xt\nd1,customer,hi\n")
    calls: list[str] = []
    real = tasks.ingest_file
    monkeypatch.setattr(tasks, "ingest_file",
                        lambda path, *a, **kw: calls.append(path.name) or real(path, *a, **kw))
    report = ingest_flow(path=str(drop))
    assert calls == ["latin.csv"] and report["files"][0]["quarantined"] == 1


# A3 -----------------------------------------------------------------------------------------

def test_reasons_quote_a_short_excerpt_never_a_whole_value(tmp_path, warehouse):
    long_id = "T-" + "7" * 98
    write_jsonl(tmp_path / "one.jsonl", [dialogue(long_id)])
    ingest(tmp_path / "one.jsonl", warehouse)
    robot = dialogue("r", [("客户", "在吗"), ("Robot " * 50, "您好")])
    s = ingest(write_jsonl(tmp_path / "two.jsonl", [dialogue(long_id, GOOD_ZH[:8]), robot]),
               warehouse)
    assert (s.records, s.quarantined) == (2, 2)
    assert [r[2] for r in _quarantine(warehouse, "duplicate_id")] == [
        f"id 'T-{'7' * 37}…' is already stored with different content"]
    [(_, _, reason, _, _)] = _quarantine(warehouse, "unknown_speaker")
    assert reason.startswith(f"turn 2: unknown speaker '{('Robot ' * 7)[:39]}…' (known: ")


def test_a_bad_byte_in_any_csv_cell_is_invalid_utf8_not_a_crash(tmp_path, warehouse):
    f = tmp_path / "speaker.csv"
    f.write_bytes(("dialogue_id,speaker,text\n" + _csv("ok", "Zoë Brûlée-Lefèvre")).encode()
                  + b"bad,agen\xff,bonjour\n")
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.new, s.quarantined) == (2, 1, 1)
    [(_, line_no, reason, payload, _)] = _quarantine(warehouse, "invalid_utf8")
    assert (line_no, reason) == (6, "line 6 is not valid UTF-8")
    assert "agen\\xff" in payload


# A6 -----------------------------------------------------------------------------------------

GZIP_CUT = "Compressed file ended before the end-of-stream marker was reached"


def _cut_gzip(path: Path, before: bytes, after: bytes) -> Path:
    """A gzip file whose stream stops exactly after `before` (as `head -c` of a gzip would cut
    it, but at a known point of the content)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        gz.write(before)
        gz.flush(zlib.Z_FULL_FLUSH)
        cut = buf.tell()
        gz.write(after)
    path.write_bytes(buf.getvalue()[:cut])
    return path


def _jsonl_line(d: dict) -> bytes:
    return (json.dumps(d, ensure_ascii=False) + "\n").encode()


def test_a_cut_jsonl_gz_keeps_every_line_before_the_cut(tmp_path, warehouse):
    third = _jsonl_line(dialogue("d3", GOOD_ZH[2:]))
    before = _jsonl_line(dialogue("d1")) + _jsonl_line(dialogue("d2", GOOD_ZH[:8])) + third[:30]
    f = _cut_gzip(tmp_path / "cut.jsonl.gz", before, third[30:])
    s = ingest(f, warehouse)
    assert (s.records, s.new, s.quarantined) == (3, 2, 1) and s.reconciles
    [(record_no, line_no, reason, payload, _)] = _quarantine(warehouse, "truncated_file")
    assert (record_no, line_no) == (3, 3)
    assert reason == (f"file ends early: its data stops after {len(before):,} bytes "
                      f"({GZIP_CUT}): line 3 is incomplete; the lines before it were read, "
                      "anything after it is missing")
    assert payload == third[:30].decode()
    assert s.error == reason  # the summary names the damage


def test_a_gzip_cut_at_a_line_end_still_says_the_rest_is_missing(tmp_path, warehouse):
    before = _jsonl_line(dialogue("d1"))
    f = _cut_gzip(tmp_path / "cut.jsonl.gz", before, _jsonl_line(dialogue("d2", GOOD_ZH[2:])))
    s = ingest(f, warehouse)
    assert (s.records, s.new, s.quarantined) == (2, 1, 1)
    [(_, line_no, reason, payload, _)] = _quarantine(warehouse, "truncated_file")
    assert (line_no, payload) == (2, "")
    assert reason.endswith(f"({GZIP_CUT}): the lines before line 2 were read, anything after "
                           "them is missing")


def test_a_cut_csv_gz_holds_back_the_dialogue_the_cut_may_split(tmp_path, warehouse):
    c1 = _csv("c1", "Kim Park").encode()
    before = ("dialogue_id,speaker,text\n" + _csv("a1") + _csv("b1", "Ana Ruiz")).encode()
    before += c1[:c1.index(b"Kim")]  # two whole rows of c1, then half a row
    f = _cut_gzip(tmp_path / "cut.csv.gz", before, c1[c1.index(b"Kim"):])
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.new, s.quarantined) == (3, 2, 1) and s.reconciles
    [(record_no, line_no, reason, payload, _)] = _quarantine(warehouse, "truncated_file")
    assert (record_no, line_no) == (3, 10)
    assert reason.endswith(f"({GZIP_CUT}): line 12 is incomplete and dialogue 'c1' may go on "
                           "past it, so it is held back; the lines before it were read, "
                           "anything after it is missing")
    assert "my card was blocked" in payload  # the held-back rows, then the cut one
    assert payload.endswith('{"dialogue_id": "c1", "speaker": "customer", "text": ""}]')


def test_a_cut_lines_gz_holds_back_the_unfinished_block(tmp_path, warehouse):
    block = "".join(f"{s}：{t}\n" for s, t in GOOD_ZH).encode()
    before = block + b"\n" + block.replace("王".encode(), "李".encode()) + b"\n" + block[:40]
    f = _cut_gzip(tmp_path / "cut.txt.gz", before, block[40:])
    s = ingest(f, warehouse, source="lines")
    assert (s.records, s.new, s.quarantined) == (3, 2, 1)
    [(record_no, line_no, reason, _, _)] = _quarantine(warehouse, "truncated_file")
    assert (record_no, line_no) == (3, 23)
    assert reason.endswith(f"({GZIP_CUT}): the dialogue from line 23 is incomplete; the "
                           "lines before it were read, anything after it is missing")


def test_a_cut_json_array_gz_keeps_the_whole_dialogues_before_the_cut(tmp_path, warehouse):
    items = [json.dumps(d, ensure_ascii=False) for d in
             (dialogue("d1"), dialogue("d2", GOOD_ZH[:8]), dialogue("d3", GOOD_ZH[2:]))]
    text = ("[" + ",\n".join(items) + "]").encode()
    cut = len(("[" + ",\n".join(items[:2]) + ",\n").encode()) + 25
    f = _cut_gzip(tmp_path / "cut.json.gz", text[:cut], text[cut:])
    s = ingest(f, warehouse, source="json")
    assert (s.records, s.new, s.quarantined) == (3, 2, 1)
    [(record_no, _, reason, payload, _)] = _quarantine(warehouse, "truncated_file")
    assert record_no == 3 and payload == items[2][:25]
    assert reason.endswith(f"({GZIP_CUT}): dialogue 3 of the array is incomplete; the "
                           "dialogues before it were read, anything after it is missing")


# A8 -----------------------------------------------------------------------------------------

def test_a_line_without_a_known_speaker_continues_the_utterance(tmp_path, warehouse):
    f = tmp_path / "chat.txt"
    f.write_text("customer: the app crashes on start\n"
                 "App version: 8.4\n"
                 "agent: please try the steps at\n"
                 "https://example.com/help\n"
                 "Note: call back tomorrow\n"
                 "customer: that fixed it\n"
                 "Thanks, Sam\n"
                 "\n"
                 "Note: customer called about a refund\n"
                 "customer: where is my refund?\n", encoding="utf-8")
    s = ingest(f, warehouse, source="lines")
    assert (s.records, s.new, s.quarantined) == (2, 1, 1)
    texts = query_all(warehouse, "SELECT speaker, text FROM raw.utterances ORDER BY utt_index")
    assert texts == [
        ("customer", "the app crashes on start\nApp version: 8.4"),
        ("supporter", "please try the steps at\n[URL]\n"  # masked like any URL
                      "Note: call back tomorrow"),
        ("customer", "that fixed it\nThanks, Sam"),
    ]
    [(_, line_no, reason, _, _)] = _quarantine(warehouse, "unknown_speaker")
    assert line_no == 9
    assert reason.startswith("line 9: the dialogue starts without a known speaker ('Note'); "
                             "known: ")


# A7 -----------------------------------------------------------------------------------------

def test_a_huge_csv_cell_quarantines_its_dialogue_not_the_file(tmp_path, warehouse):
    f = tmp_path / "big.csv"
    f.write_text("dialogue_id,speaker,text\n" + _csv("ok") + "big,customer,hi\n"
                 + "big,agent," + "x" * 200_000 + "\n" + _csv("after", "Kim Park"),
                 encoding="utf-8")
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.new, s.quarantined) == (3, 2, 1) and s.reconciles
    [(_, line_no, reason, _, _)] = _quarantine(warehouse, "utterance_too_large")
    assert (line_no, reason) == (6, "line 7: utterance is 200,000 characters, over the "
                                    "100,000 limit")


def test_a_huge_utterance_is_quarantined_in_every_format(tmp_path, warehouse):
    huge = "啊" * 100_001
    write_jsonl(tmp_path / "a.jsonl", [dialogue("h", [("客户", huge)]), dialogue("ok")])
    (tmp_path / "b.txt").write_text(f"客户：你好\n客服：{huge}\n", encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps([dialogue("h", [("客户", [huge])])]),
                                     encoding="utf-8")
    for name, source in (("a.jsonl", "jsonl"), ("b.txt", "lines"), ("c.json", "json")):
        s = ingest(tmp_path / name, warehouse, source=source)
        assert s.quarantined == 1 and s.reconciles, name
    reasons = [r[2] for r in _quarantine(warehouse, "utterance_too_large")]
    assert reasons == [
        "turn 1: utterance is 100,001 characters, over the 100,000 limit",  # a.jsonl
        "line 2: utterance is 100,001 characters, over the 100,000 limit",  # b.txt
        "turn 1: utterance is 100,001 characters, over the 100,000 limit",  # c.json
    ]


def test_one_record_cap_for_every_format_with_env_overrides(tmp_path, warehouse, monkeypatch):
    monkeypatch.setenv("CSC_MAX_RECORD_BYTES", "2000")
    monkeypatch.setenv("CSC_MAX_UTTERANCE_CHARS", "500")
    turns = [("客户", "你好" * 120)] * 3  # 3 x 240 characters, 2,160 bytes of text
    write_jsonl(tmp_path / "a.jsonl", [dialogue("big", turns), dialogue("ok")])
    (tmp_path / "b.json").write_text(json.dumps([dialogue("big", turns), dialogue("ok")]),
                                     encoding="utf-8")
    (tmp_path / "c.csv").write_text(
        "dialogue_id,speaker,text\n" + "".join(f"big,客户,{t}\n" for _, t in turns)
        + _csv("ok"), encoding="utf-8")
    (tmp_path / "d.txt").write_text("".join(f"客户：{t}\n" for _, t in turns) + "\n"
                                    + "客户：你好\n客服：您好\n", encoding="utf-8")
    (tmp_path / "e.txt").write_text("客户：" + "好" * 501 + "\n", encoding="utf-8")
    for name, source in (("a.jsonl", "jsonl"), ("b.json", "json"), ("c.csv", "csv"),
                         ("d.txt", "lines"), ("e.txt", "lines")):
        s = ingest(tmp_path / name, warehouse, source=source)
        assert s.quarantined == 1 and s.reconciles, name
    reasons = {Path(r[4]).name: r[2] for r in _quarantine(warehouse, "record_too_large")}
    # Each turn's text is 720 bytes. JSONL: the line, 24 + 3 x 753 (31 + 720 + 2) + 4 + 2.
    # JSON: the element as compact JSON, 21 + 3 x 750 + 2 + 2. CSV: the cells, 3 x (3 + 6 +
    # 720). Lines: the block, 3 x (9 + 720) + 2 line breaks.
    assert reasons == {
        "a.jsonl": "record is 2,289 bytes, over the 2,000 limit",
        "b.json": "record is 2,275 bytes, over the 2,000 limit",
        "c.csv": "dialogue 'big' is 2,187 bytes, over the 2,000 limit",
        "d.txt": "dialogue is 2,189 bytes, over the 2,000 limit",
    }
    assert [r[2] for r in _quarantine(warehouse, "utterance_too_large")] == [
        "line 1: utterance is 501 characters, over the 500 limit"]


def test_size_caps_are_source_config_fields(tmp_path):
    from csc.errors import ConfigError
    from csc.ingest.sources import load_source

    cfg = tmp_path / "small.yaml"
    cfg.write_text("format: jsonl\nmax_record_bytes: 1000\nmax_utterance_chars: 80\n"
                   "speakers: {customer: [c], supporter: [s]}\n", encoding="utf-8")
    loaded = load_source(str(cfg))
    assert (loaded.max_record_bytes, loaded.max_utterance_chars) == (1000, 80)
    assert (load_source("csv").max_record_bytes, load_source("csv").max_utterance_chars) == (
        5_000_000, 100_000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSC_MAX_UTTERANCE_CHARS", "lots")
        with pytest.raises(ConfigError, match=r"^CSC_MAX_UTTERANCE_CHARS=lots must be a whole "
                                              "number >= 1$"):
            load_source("csv")


def test_a_csv_cell_over_the_record_cap_is_one_record(tmp_path, warehouse, monkeypatch):
    monkeypatch.setenv("CSC_MAX_RECORD_BYTES", "1000")
    f = tmp_path / "cell.csv"
    f.write_text("dialogue_id,speaker,text\n" + "x,customer," + "y" * 1500 + "\n"
                 + _csv("ok"), encoding="utf-8")
    s = ingest(f, warehouse, source="csv")
    assert (s.records, s.new, s.quarantined) == (2, 1, 1) and s.reconciles
    [(_, line_no, reason, _, _)] = _quarantine(warehouse, "record_too_large")
    assert (line_no, reason) == (2, "line 2: a cell is over the 1,000-character limit of a "
                                    "record")
