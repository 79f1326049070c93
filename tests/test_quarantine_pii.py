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


# Real-looking contact data of several countries, as chat exports carry it. Each must be gone
# from every table, wherever ingest put the record (kept, quarantined, or a refused file).
PLANTED = {
    "+44 7700 900123": "44770090012", "07700 900123": "0770090012",
    "+91 98765 43210": "919876543210", "+33 1 23 45 67 89": "33123456789",
    "(415) 555-0132": "4155550132", "138\u200b1234\u200b5678": "13812345678",
    "sam.jones+help@mail.example.co.uk": "sam.jones",
    "https://help.example.com/ticket?id=99812&user=sam": "help.example.com",
    "www.example.org/reset": "example.org",
}


def test_a_folder_of_hostile_and_real_looking_files_leaves_no_planted_pii(tmp_path, warehouse):
    from csc.ingest.service import ingest_path

    values = list(PLANTED)
    drop = tmp_path / "drop"
    drop.mkdir()
    en = [("customer", f"Hi, call me on {values[0]} or {values[1]}, thanks"),
          ("agent", f"Sure. Our India desk is {values[2]}, Paris {values[3]}."),
          ("customer", f"US line {values[4]}; my mail is {values[6]}"),
          ("agent", f"Reset it at {values[7]} or {values[8]}"),
          ("customer", f"我的手机{values[5]}"), ("agent", "Thanks, all noted.")]
    write_jsonl(drop / "a_kept.jsonl", [dialogue("en-1", en)])
    write_jsonl(drop / "b_refused.jsonl", [dialogue("bot", [*en, ("robot", "beep")]),
                                           '{"id": "cut", "turns": "' + " ".join(values)])
    lines = "\n".join(f"{'Customer' if i % 2 == 0 else 'Agent'}: {t}" for i, (_, t) in
                      enumerate(en))
    (drop / "c_lines.txt").write_text(lines + "\n\n" + "Nobody: " + values[0] + "\n",
                                      encoding="utf-8")
    (drop / "d_header.csv").write_text(f"id,{values[6]},{values[7]}\nx,y,z\n", encoding="utf-8")
    (drop / "e_utf16.csv").write_bytes(
        ("dialogue_id,speaker,text\nd1,customer," + values[2] + "\n").encode("utf-16"))
    (drop / "f_big.jsonl").write_text(
        '{"id": "big", "turns": [{"speaker": "customer", "text": "' + values[0] + " x" * 60_000
        + '"}, {"speaker": "agent", "text": "' + values[7] + '"}]}\n', encoding="utf-8")
    report = ingest_path(drop, "run-pii", db=warehouse)
    assert report.reconciles and len(report.files) == 6
    assert report.as_dict()["totals"]["quarantined"] >= 4
    text = "\n".join(all_text(warehouse))
    flat = "".join(ch for ch in text if ch.isalnum() or ch in ".@")
    for value, core in PLANTED.items():
        assert value not in text, value
        assert core not in flat, (value, core)
    kept = "\n".join(t for (t,) in query_all(warehouse, "SELECT text FROM raw.utterances"))
    assert "[PHONE]" in kept and "[EMAIL]" in kept and "[URL]" in kept
