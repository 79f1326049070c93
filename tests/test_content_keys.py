"""The content key (raw.dialogues.dialogue_id) is part of every warehouse already written: the
same dialogue must get the same key in every release, or a re-ingest stores it twice. The
expected keys are computed here from the documented definition, not by the code under test."""

from __future__ import annotations

import hashlib

from helpers import dialogue, ingest, query_all, write_jsonl


def _key(*utterances: tuple[str, str]) -> str:
    """blake2b-128 of "<C|S>\\x1f<text>" per merged utterance, joined by "\\x1e"."""
    blob = "\x1e".join(f"{'C' if who == 'customer' else 'S'}\x1f{text}"
                       for who, text in utterances)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def test_keys_follow_the_definition_record_by_record(tmp_path):
    rows = [
        dialogue("a", [("客户", "你好，我的快递还没到"), ("客服", "您好，我帮您查一下")]),
        # two customer lines merge into one utterance (joined by a newline)
        dialogue("b", [("客户", "在吗"), ("客户", "订单一直没发货"), ("客服", "马上为您处理")]),
        dialogue("c", [("customer", "Hi, my parcel is late."), ("agent", "Sorry, let me check."),
                       ("customer", "Thanks.")]),
        dialogue("d", [("客户", "一"), ("客服", "二")]),  # one-character utterances
    ]
    db = tmp_path / "w.duckdb"
    ingest(write_jsonl(tmp_path / "in.jsonl", rows), db)
    stored = dict(query_all(db, "SELECT source_dialogue_id, dialogue_id FROM raw.dialogues"))
    assert stored == {
        "a": _key(("customer", "你好，我的快递还没到"), ("supporter", "您好，我帮您查一下")),
        "b": _key(("customer", "在吗\n订单一直没发货"), ("supporter", "马上为您处理")),
        "c": _key(("customer", "Hi, my parcel is late."), ("supporter", "Sorry, let me check."),
                  ("customer", "Thanks.")),
        "d": _key(("customer", "一"), ("supporter", "二")),
    }
