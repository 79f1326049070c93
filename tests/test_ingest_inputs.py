"""Every input record ends up in raw.* or raw.quarantine with a reason; counts reconcile."""

from __future__ import annotations

import gzip
import json

import pytest
from helpers import GOOD_ZH, count, dialogue, ingest, write_jsonl

from csc.ingest.service import IngestError, discover, ingest_file
from csc.ingest.sources import load_source
from warehouse.db import connect, query


def _quarantine(db, check):
    with connect(db) as con:
        return query(con, 'SELECT record_no, line_no, reason, payload FROM raw.quarantine '
                          'WHERE "check" = ? ORDER BY record_no', [check])


def test_good_jsonl_is_kept_and_keyed_by_content(tmp_path, warehouse):
    f = write_jsonl(tmp_path / "a.jsonl", [dialogue("d1"), dialogue("d2", GOOD_ZH[:8])])
    s = ingest(f, warehouse)
    assert (s.records, s.new, s.quarantined) == (2, 2, 0) and s.reconciles
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 2
    assert count(warehouse, "SELECT count(*) FROM raw.utterances") == 18
    assert count(warehouse, "SELECT count(*) FROM staging.prefilter") == 2
    # masked before storage: the phone number never reaches the warehouse
    assert count(warehouse, "SELECT count(*) FROM raw.utterances WHERE text LIKE '%138123%'") == 0
    assert count(warehouse, "SELECT sum(pii_masked) FROM raw.dialogues") == 2


def test_second_ingest_adds_nothing_even_when_forced(tmp_path, warehouse):
    f = write_jsonl(tmp_path / "a.jsonl", [dialogue("d1"), "{broken"])
    first = ingest(f, warehouse)
    again = ingest(f, warehouse)
    forced = ingest(f, warehouse, force=True)
    assert again.skipped_unchanged and again.new == 0 and again.reconciles
    assert forced.new == 0 and forced.already_present == 1 and forced.quarantined == 1
    assert first.reconciles and forced.reconciles
    for table, n in [("raw.dialogues", 1), ("raw.utterances", 10), ("raw.quarantine", 1),
                     ("staging.prefilter", 1), ("raw.files", 1)]:
        assert count(warehouse, f"SELECT count(*) FROM {table}") == n, table


def test_malformed_lines_unknown_speakers_and_empty_dialogues_are_quarantined(tmp_path, warehouse):
    rows = [
        dialogue("ok"),
        '{"id": "cut", "turns": [{"speaker": "客户", "te',
        dialogue("robot", [("客户", "在吗"), ("机器人", "您好")]),
        dialogue("blank", [("客户", "  "), ("客服", "")]),
        '[1, 2, 3]',
        '{"id": "noturns"}',
        dialogue("numtext", [("客户", 42)]),
    ]
    s = ingest(write_jsonl(tmp_path / "bad.jsonl", rows), warehouse)
    assert (s.records, s.new, s.quarantined) == (7, 1, 6) and s.reconciles
    assert _quarantine(warehouse, "malformed_json")[0][:2] == (2, 2)
    unknown = _quarantine(warehouse, "unknown_speaker")
    assert "unknown speaker '机器人'" in unknown[0][2] and "机器人" in unknown[0][3]
    assert _quarantine(warehouse, "empty_dialogue")[0][0] == 4
    shapes = [r[2] for r in _quarantine(warehouse, "record_shape")]
    assert any("expected a JSON object" in r for r in shapes)
    assert any("turns field 'turns' is missing" in r for r in shapes)
    assert "not a string" in _quarantine(warehouse, "turn_shape")[0][2]


def test_invalid_utf8_bom_and_crlf(tmp_path, warehouse):
    good = json.dumps(dialogue("a"), ensure_ascii=False).encode()
    bad = json.dumps(dialogue("b", [("客户", "XX"), ("客服", "好")]), ensure_ascii=False).encode()
    bad = bad.replace(b"XX", b"\xff\xfe")
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + good + b"\r\n" + bad + b"\r\n")
    s = ingest(f, warehouse)
    assert (s.records, s.new, s.quarantined) == (2, 1, 1)
    rows = _quarantine(warehouse, "invalid_utf8")
    assert rows[0][1] == 2 and "not valid UTF-8" in rows[0][2] and "\\xff" in rows[0][3]


def test_a_single_huge_line_is_quarantined_not_loaded(tmp_path, warehouse):
    huge = dialogue("huge", [("客户", "啊" * 3_000_000), ("客服", "好")])
    f = write_jsonl(tmp_path / "huge.jsonl", [huge, dialogue("ok")])
    s = ingest(f, warehouse)
    assert (s.new, s.quarantined) == (1, 1)
    reason = _quarantine(warehouse, "record_too_large")[0][2]
    assert "bytes, over the 5,000,000 limit" in reason


def test_long_but_allowed_utterance_is_kept_and_fails_the_rule(tmp_path, warehouse):
    long_turns = [*GOOD_ZH[:-1], ("客服", "谢" * 600)]
    s = ingest(write_jsonl(tmp_path / "l.jsonl", [dialogue("l", long_turns)]), warehouse)
    assert s.new == 1 and s.prefilter_passed == 0
    assert count(warehouse, "SELECT count(*) FROM staging.prefilter WHERE "
                            "list_contains(failed_rules, 'utterance_too_long')") == 1


def test_duplicate_ids_with_different_content(tmp_path, warehouse):
    other = dialogue("d1", GOOD_ZH[:8])
    s = ingest(write_jsonl(tmp_path / "a.jsonl", [dialogue("d1"), dialogue("d1"), other]),
               warehouse)
    # the same content twice is one dialogue; the same id with new content is a conflict
    assert (s.records, s.new, s.already_present, s.quarantined) == (3, 1, 1, 1)
    assert "already used by record 1" in _quarantine(warehouse, "duplicate_id")[0][2]
    # across files and runs too
    s2 = ingest(write_jsonl(tmp_path / "b.jsonl", [dialogue("d1", GOOD_ZH[2:])]), warehouse)
    assert (s2.new, s2.quarantined) == (0, 1) and s2.reconciles
    assert len(_quarantine(warehouse, "duplicate_id")) == 2


def test_file_level_failures_are_one_quarantine_row(tmp_path, warehouse):
    broken_gz = tmp_path / "broken.jsonl.gz"
    broken_gz.write_bytes(b"\x1f\x8b\x08\x00 definitely not gzip")
    s = ingest(broken_gz, warehouse)
    assert (s.records, s.quarantined) == (1, 1) and s.error and "cannot read" in s.error
    not_json = tmp_path / "array.json"
    not_json.write_text("[{oops", encoding="utf-8")
    s = ingest(not_json, warehouse, source="json")
    assert s.quarantined == 1 and "not valid JSON" in s.error
    assert count(warehouse, "SELECT count(*) FROM raw.quarantine WHERE record_no = 0") == 2


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        discover(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="holds no dialogue files"):
        discover(tmp_path / "empty")


def test_gzip_json_lines_and_csv_and_line_formats(tmp_path, warehouse):
    gz = tmp_path / "a.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(dialogue("g1"), ensure_ascii=False) + "\n")
    assert ingest(gz, warehouse).new == 1

    csv_file = tmp_path / "calls.csv"
    csv_file.write_text(
        "dialogue_id,turn,speaker,text,source\n"
        'c1,2,agent,"Sure, what is your name?",cards\n'
        "c1,1,customer,My card was swallowed by the ATM,cards\n"
        'c1,3,customer,"Li ""Lucy"" Wang",cards\n'
        "c2,1,customer,hello,cards\n"
        "c2,2,bot,beep,cards\n"
        ",1,customer,orphan row,cards\n",
        encoding="utf-8")
    s = ingest(csv_file, warehouse, source="csv")
    assert (s.records, s.new, s.quarantined) == (3, 1, 2) and s.reconciles
    with connect(warehouse) as con:
        texts = query(con, "SELECT u.text FROM raw.utterances u JOIN raw.dialogues d "
                           "USING (dialogue_id) WHERE d.source_dialogue_id = 'c1' "
                           "ORDER BY utt_index")
        area = query(con, "SELECT business_area FROM raw.dialogues WHERE source = 'csv'")
    assert [t for (t,) in texts] == ["My card was swallowed by the ATM",
                                     "Sure, what is your name?", 'Li "Lucy" Wang']
    assert area == [("cards",)]

    txt = tmp_path / "t.txt"
    txt.write_text("客户：你好\n客服: 您好，请问有什么可以帮您\n第二行\n\n客户：在吗\n路人：喂\n",
                   encoding="utf-8")
    s = ingest(txt, warehouse, source="lines")
    assert (s.records, s.new, s.quarantined) == (2, 2, 0)
    with connect(warehouse) as con:
        rows = query(con, "SELECT text FROM raw.utterances u JOIN raw.dialogues d "
                          "USING (dialogue_id) WHERE d.source = 'lines' "
                          "ORDER BY d.record_no, utt_index")
    assert rows[1][0] == "您好，请问有什么可以帮您\n第二行"
    assert rows[2][0] == "在吗\n路人：喂"  # an unknown prefix continues the utterance


def test_a_new_jsonl_layout_needs_only_a_config(tmp_path, warehouse):
    layout = tmp_path / "helpdesk.yaml"
    layout.write_text(
        "name: helpdesk_export\nformat: jsonl\nid: meta.ticket\nturns: conversation.messages\n"
        "speaker: from\ntext: body.parts\njoin: ' '\nbusiness_area: meta.queue\n"
        "speakers:\n  customer: [end_user]\n  supporter: [tier1, tier2]\n  skip: [system]\n",
        encoding="utf-8")
    rec = {"meta": {"ticket": "T-9", "queue": "billing"}, "conversation": {"messages": [
        {"from": "end_user", "body": {"parts": ["my invoice", "is wrong"]}},
        {"from": "system", "body": {"parts": ["ticket assigned"]}},
        {"from": "tier1", "body": {"parts": ["Sorry to hear that."]}},
    ]}}
    f = write_jsonl(tmp_path / "export.jsonl", [rec])
    s = ingest_file(f, load_source(str(layout)), "r1", db=warehouse)
    assert s.new == 1 and s.reconciles
    with connect(warehouse) as con:
        d = query(con, "SELECT source, source_dialogue_id, business_area, n_skipped, language "
                       "FROM raw.dialogues")
        u = query(con, "SELECT speaker, text FROM raw.utterances ORDER BY utt_index")
    assert d == [("helpdesk_export", "T-9", "billing", 1, "en")]
    assert u == [("customer", "my invoice is wrong"), ("supporter", "Sorry to hear that.")]


def test_bad_source_configs_explain_themselves(tmp_path):
    from csc.ingest.sources import SourceError

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nformat: xml\nspeakers: {customer: [a], supporter: [b]}\n")
    with pytest.raises(SourceError, match="format"):
        load_source(str(bad))
    with pytest.raises(SourceError, match="unknown source 'nope'"):
        load_source("nope")
    with pytest.raises(SourceError, match="does not exist"):
        load_source(str(tmp_path / "missing.yaml"))
