"""No table holds PII that ingest saw, refused records included (issue 10 A3, first part):
quarantined payloads and reasons are masked like kept text."""

from __future__ import annotations

import gzip

from helpers import dialogue, ingest, query_all, write_jsonl

from csc.ingest.service import ingest_file
from csc.ingest.sources import load_source

EMAIL, PHONE, CARD = "li.wei@example.com", "13812345678", "6222021234567890123"


def all_text(db) -> list[str]:
    """Every value of every text column of every table in the warehouse."""
    columns = query_all(db, "SELECT table_schema, table_name, column_name FROM "
                            "information_schema.columns WHERE data_type = 'VARCHAR' AND "
                            "table_schema <> 'marts'")
    found = []
    for schema, table, column in columns:
        found += [v for (v,) in query_all(db, f'SELECT "{column}" FROM {schema}."{table}" '
                                              f'WHERE "{column}" IS NOT NULL')]
    return found


def test_refused_records_keep_no_pii(tmp_path, warehouse):
    pii = f"我的邮箱{EMAIL}，电话{PHONE}，卡号{CARD}"
    f = write_jsonl(tmp_path / "hostile.jsonl", [
        dialogue("ok-1"),                                         # kept
        '{"id": "cut", "turns": [{"speaker": "客户", "text": "' + pii,   # malformed_json
        dialogue("bot", [("客户", pii), ("机器人", "您好")]),      # unknown_speaker
        {"id": "shape", "turns": pii},                            # record_shape
    ])
    summary = ingest(f, warehouse)
    assert summary.records == 4 and summary.new == 1 and summary.quarantined == 3
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(pii.encode())[:-12])  # unreadable as a whole
    ingest_file(broken, load_source("jsonl"), "run-test", db=warehouse)
    header = tmp_path / "export.csv"  # a header error quotes the header row
    header.write_text(f"dialogue_id,speaker,{EMAIL},{PHONE}\nd1,customer,hi,there\n",
                      encoding="utf-8")
    ingest_file(header, load_source("csv"), "run-test", db=warehouse)
    text = "\n".join(all_text(warehouse))
    for value in (EMAIL, PHONE, CARD):
        assert value not in text, value
    checks = {c for (c,) in query_all(warehouse, 'SELECT "check" FROM raw.quarantine')}
    assert {"malformed_json", "unknown_speaker", "record_shape"} <= checks
    payloads = [p for (p,) in query_all(warehouse, "SELECT payload FROM raw.quarantine WHERE "
                                                   "\"check\" = 'unknown_speaker'")]
    # masked in the dialogue's language, not dropped: people can still read what was refused
    assert "[邮箱]" in payloads[0] and "[手机号码]" in payloads[0] and "[银行卡号]" in payloads[0]


def test_no_mask_pii_keeps_refused_records_as_read(tmp_path, warehouse):
    f = write_jsonl(tmp_path / "raw.jsonl", [dialogue("bot", [("客户", f"邮箱{EMAIL}"),
                                                               ("机器人", "您好")])])
    ingest_file(f, load_source("jsonl").model_copy(update={"mask_pii": False}), "run-test",
                db=warehouse)
    (payload,), = query_all(warehouse, "SELECT payload FROM raw.quarantine")
    assert EMAIL in payload  # the user asked for text as read
