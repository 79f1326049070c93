"""Invisible and control characters through a real ingest (issue 10 A5)."""

from __future__ import annotations

from helpers import GOOD_ZH, dialogue, ingest, query_all, write_jsonl


def test_a_line_of_only_invisible_characters_is_empty_and_controls_never_reach_storage(
        tmp_path, warehouse):
    turns = [*GOOD_ZH[:2],
             ("客户", "\x00\u200b\u202e\u2066\ufeff"),  # NUL, zero-width, bidi: nothing left
             ("客户", "\x1b[31m我的号码是138\u200b1234\u200b5678\x1b[0m\x07"),
             ("客服", "好的\x85收到\u200d"), *GOOD_ZH[2:]]
    summary = ingest(write_jsonl(tmp_path / "d.jsonl", [dialogue("d1", turns)]), warehouse)
    assert summary.reconciles and summary.new == 1
    (dropped,) = query_all(warehouse, "SELECT n_empty_dropped FROM raw.dialogues")[0]
    assert dropped == 1
    texts = [t for (t,) in query_all(warehouse, "SELECT text FROM raw.utterances")]
    joined = "\n".join(texts)
    for bad in ("\x00", "\x1b", "\x07", "\x85", "\u200b", "\u202e", "\u2066", "\ufeff",
                "\u200d", "13812345678", "5678"):
        assert bad not in joined, repr(bad)
    # the empty customer line is gone, so the masked one is the third utterance
    assert texts[2] == "我的号码是[手机号码]"
    assert texts[3] == "好的\n收到"  # NEL is a line break (docs/pii.md), ZWJ off an emoji goes


def test_a_dialogue_of_only_invisible_text_is_quarantined_as_empty(tmp_path, warehouse):
    turns = [("客户", "\u200b\u200c"), ("客服", "\x00\x1b[0m")]
    summary = ingest(write_jsonl(tmp_path / "e.jsonl", [dialogue("e1", turns)]), warehouse)
    assert summary.reconciles and summary.quarantined == 1 and summary.new == 0
    assert query_all(warehouse, 'SELECT "check" FROM raw.quarantine') == [("empty_dialogue",)]


def test_quarantined_text_is_cleaned_too(tmp_path, warehouse):
    path = write_jsonl(tmp_path / "q.jsonl", ['{"id": "x\x1b[31m", "turns": 5}'])
    ingest(path, warehouse)
    payload, reason = query_all(warehouse, "SELECT payload, reason FROM raw.quarantine")[0]
    assert "\x1b" not in payload and "\x1b" not in reason


def test_a_file_refused_whole_is_cleaned_even_without_masking(tmp_path, warehouse):
    from csc.ingest.service import ingest_file
    from csc.ingest.sources import load_source

    path = tmp_path / "h.csv"  # a header error quotes the header, escape sequence included
    path.write_text("id,\x1b[31mwho\x1b[0m,what\nx,y,z\n", encoding="utf-8")
    cfg = load_source("csv").model_copy(update={"mask_pii": False})
    summary = ingest_file(path, cfg, "run-test", db=warehouse)
    assert summary.quarantined == 1 and "\x1b" not in summary.error
    (reason,), = query_all(warehouse, "SELECT reason FROM raw.quarantine")
    assert "\x1b" not in reason and "who" in reason


def test_a_configured_join_of_a_control_character_is_cleaned_like_a_line(tmp_path, warehouse):
    """Ingest masks its texts as cleaned (`mask_frame(cleaned=True)`), so a merge must not
    bring a control character back: a tab join reads as a space, as a tab in a line does."""
    cfg = tmp_path / "tabbed.yaml"
    cfg.write_text("name: tabbed\nformat: jsonl\njoin: \"\\t\"\nspeakers:\n  shared: true\n",
                   encoding="utf-8")
    turns = [("客户", "第一行"), ("客户", "电话13812345678"), *GOOD_ZH[1:]]
    summary = ingest(write_jsonl(tmp_path / "t.jsonl", [dialogue("t1", turns)]), warehouse,
                     source=str(cfg))
    assert summary.new == 1
    first = query_all(warehouse, "SELECT text FROM raw.utterances WHERE utt_index = 0")[0][0]
    assert first == "第一行 电话[手机号码]"
