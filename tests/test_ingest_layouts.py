"""Layouts users have, described by a source config (issue 10 A9): a headerless CSV, a whole
transcript in one cell or field, ids that are not scalars, and empty files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from helpers import count, ingest, query_all, write_jsonl

from csc.ingest.service import ingest_file
from csc.ingest.sources import SourceError, builtin_names, load_source

SPEAKERS = "speakers: {customer: [customer, 客户], supporter: [agent, 客服]}\n"


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "layout.yaml"
    path.write_text(body + SPEAKERS, encoding="utf-8")
    return path


def _utterances(db: Path) -> list[tuple]:
    return query_all(db, "SELECT d.source_dialogue_id, u.speaker, u.text FROM raw.utterances u "
                         "JOIN raw.dialogues d USING (dialogue_id) "
                         "ORDER BY d.record_no, u.utt_index")


def test_a_headerless_csv_by_column_position(tmp_path, warehouse):
    cfg = load_source(str(_config(
        tmp_path, "name: plain_csv\nformat: csv\n"
                  "csv: {header: false, dialogue_id: 0, speaker: 2, text: 3}\n")))
    f = tmp_path / "calls.csv"
    f.write_text("c1,1,customer,my card is blocked\n"
                 "c1,2,agent,\"sorry, let me check\"\n"
                 "c2,1,customer,hello\n"
                 "c2,2,robot,beep\n", encoding="utf-8")
    s = ingest_file(f, cfg, "r", db=warehouse)
    assert (s.records, s.new, s.quarantined) == (2, 1, 1) and s.reconciles
    assert _utterances(warehouse) == [("c1", "customer", "my card is blocked"),
                                      ("c1", "supporter", "sorry, let me check")]


def test_column_positions_need_header_false(tmp_path):
    with pytest.raises(SourceError, match=r"csv: .*column positions \(numbers\) need header: "
                                          "false"):
        load_source(str(_config(tmp_path, "format: csv\ncsv: {dialogue_id: 0}\n")))
    with pytest.raises(SourceError, match=r"csv: .*without a header, columns are positions"):
        load_source(str(_config(tmp_path, "format: csv\ncsv: {header: false}\n")))


def test_a_csv_with_the_whole_transcript_in_one_cell(tmp_path, warehouse):
    cfg = load_source(str(_config(
        tmp_path, "name: crm\nformat: csv\ncsv: {dialogue_id: ticket, transcript: body}\n")))
    f = tmp_path / "tickets.csv"
    f.write_text('ticket,body\n'
                 'T1,"customer: my card is blocked\nApp version: 8.4\nagent: unlocked now"\n'
                 'T2,"Note: VIP\ncustomer: hi"\n'
                 'T3,\n', encoding="utf-8")
    s = ingest_file(f, cfg, "r", db=warehouse)
    assert (s.records, s.new, s.quarantined) == (3, 1, 2) and s.reconciles
    assert _utterances(warehouse) == [("T1", "customer", "my card is blocked\nApp version: 8.4"),
                                      ("T1", "supporter", "unlocked now")]
    rows = query_all(warehouse, 'SELECT source_dialogue_id, line_no, "check", reason '
                                'FROM raw.quarantine ORDER BY record_no')
    # a record's line is the CSV line its row starts on: T1 spans lines 2-4, T2 lines 5-6
    assert rows[0] == ("T2", 5, "unknown_speaker",
                       "transcript line 1: the dialogue starts without a known speaker "
                       "('Note'); known: agent, customer, 客户, 客服")
    assert rows[1][:3] == ("T3", 7, "empty_dialogue")


def test_a_jsonl_field_with_the_whole_transcript(tmp_path, warehouse):
    cfg = load_source(str(_config(
        tmp_path, "name: chat_export\nformat: jsonl\nid: meta.id\ntranscript: log\n")))
    rows = [{"meta": {"id": "a"}, "log": "客户：你好\n客服：您好，请问有什么可以帮您"},
            {"meta": {"id": "b"}, "log": 42},
            {"meta": {"id": "c"}}]
    s = ingest_file(write_jsonl(tmp_path / "chat.jsonl", rows), cfg, "r", db=warehouse)
    assert (s.records, s.new, s.quarantined) == (3, 1, 2) and s.reconciles
    assert _utterances(warehouse) == [("a", "customer", "你好"),
                                      ("a", "supporter", "您好，请问有什么可以帮您")]
    reasons = query_all(warehouse, "SELECT reason FROM raw.quarantine ORDER BY record_no")
    assert reasons == [("transcript field 'log' is a int, not a string",),
                       ("transcript field 'log' is missing, not a string",)]


def test_a_builtin_csv_transcript_source(tmp_path, warehouse):
    assert "csv_transcript" in builtin_names()
    f = tmp_path / "t.csv"
    f.write_text('dialogue_id,transcript\nx1,"customer: hi\nagent: hello"\n', encoding="utf-8")
    assert ingest(f, warehouse, source="csv_transcript").new == 1


@pytest.mark.parametrize("value", [{"n": 1}, [1, 2], True, False])
def test_an_id_that_is_not_a_scalar_is_bad_id(tmp_path, warehouse, value):
    good = {"id": "ok", "turns": [{"speaker": "客户", "text": "你好"}]}
    bad = {"id": value, "turns": [{"speaker": "客户", "text": "在吗"}]}
    s = ingest(write_jsonl(tmp_path / "ids.jsonl", [good, bad]), warehouse)
    assert (s.records, s.new, s.quarantined) == (2, 1, 1)
    kind = {dict: "an object", list: "an array", bool: "a boolean"}[type(value)]
    assert query_all(warehouse, 'SELECT "check", reason FROM raw.quarantine') == [
        ("bad_id", f"id field 'id' is {kind}, not a string or number")]
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues WHERE source_dialogue_id "
                            "IS NULL") == 0


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n \n",
                                     "\ufeff \n".encode("utf-16-le"), b"\xff\xfe"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".txt", ".csv.gz"])
def test_an_empty_file_is_one_clear_line_in_every_format(tmp_path, warehouse, content, suffix):
    f = tmp_path / f"empty{suffix}"
    f.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    source = {".jsonl": "jsonl", ".json": "json", ".txt": "lines"}.get(suffix, "csv")
    s = ingest(f, warehouse, source=source)
    assert (s.records, s.quarantined, s.error) == (1, 1, f"{f} is empty")
    assert query_all(warehouse, 'SELECT "check", record_no FROM raw.quarantine') == [
        ("empty_file", 0)]


def test_two_empty_files_are_two_quarantine_rows(tmp_path, warehouse):
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_bytes(b"")
        ingest(tmp_path / name, warehouse)
    assert query_all(warehouse, 'SELECT reason FROM raw.quarantine ORDER BY reason') == [
        (f"{tmp_path / 'a.jsonl'} is empty",), (f"{tmp_path / 'b.jsonl'} is empty",)]


def test_a_json_document_is_still_read_whole(tmp_path, warehouse):
    f = tmp_path / "one.json"
    f.write_text(json.dumps({"id": "x", "turns": [{"speaker": "客户", "text": "你好"}]}),
                 encoding="utf-8")
    assert ingest(f, warehouse, source="json").new == 1
