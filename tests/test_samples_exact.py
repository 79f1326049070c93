"""samples/raw ingested into a fresh warehouse gives exactly what samples/README.md documents:
records, kept dialogues, pre-filter verdicts per file and per rule, the quarantined records
by check, and no PII value of a dialogue the README lists left unmasked."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from helpers import query_all

from csc.ingest.service import ingest_path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
RAW = SAMPLES / "raw"

# samples/README.md, first table: records, kept after ingest, pass pre-filter, dropped by the
# pre-filter, quarantined.
PER_FILE = {
    "zh_dialogues.jsonl": (20, 18, 12, 6, 2),
    "en_dialogues.json": (19, 17, 11, 6, 2),
    "call_logs.csv": (6, 5, 4, 1, 1),
    "transcripts.txt": (6, 6, 5, 1, 0),
}
TOTAL = (51, 46, 32, 14, 5)  # = the column sums of PER_FILE

# "Meant to be dropped by the rule pre-filter": each dialogue with every rule it fails (the
# rules in parentheses in the README's table included).
DROPPED = {
    "zh-003": {"too_few_turns"}, "en-003": {"too_few_turns"},
    "transcripts:32": {"too_few_turns"},
    "zh-019": {"too_many_turns"}, "en-017": {"too_many_turns"},
    "zh-010": {"utterance_too_long"}, "en-009": {"utterance_too_long"},
    "zh-014": {"supporter_dominates", "too_few_turns"},
    "en-011": {"supporter_dominates", "too_few_turns"},
    "zh-017": {"no_customer", "too_few_turns", "supporter_dominates"},
    "en-015": {"no_customer", "too_few_turns", "supporter_dominates"},
    "zh-006": {"customer_lines_too_short"}, "en-006": {"customer_lines_too_short"},
    "call-en-02": {"customer_lines_too_short"},
}
# "Per-rule drop counts" in the README.
PER_RULE = {"too_few_turns": 7, "supporter_dominates": 4, "customer_lines_too_short": 3,
            "too_many_turns": 2, "utterance_too_long": 2, "no_customer": 2}

# "Meant to be quarantined": (file, source id or None, line or None, check).
QUARANTINED = {
    ("zh_dialogues.jsonl", None, 8, "malformed_json"),  # zh-008, cut off mid-string
    ("zh_dialogues.jsonl", "zh-012", 12, "unknown_speaker"),
    ("en_dialogues.json", "en-013", None, "empty_dialogue"),
    ("en_dialogues.json", "en-004", None, "duplicate_id"),  # the second en-004
    ("call_logs.csv", "call-zh-02", 39, "unknown_speaker"),
}

# The README's "PII masking" bullet, with the values read from the raw files by hand: every
# value, the placeholder it must become (zh or en by the dialogue's language).
CARD, ID, PHONE, MAIL = "card", "id", "phone", "email"
PLACEHOLDER = {"zh": {CARD: "[银行卡号]", ID: "[身份证号]", PHONE: "[手机号码]", MAIL: "[邮箱]"},
               "en": {CARD: "[CARD_NUMBER]", ID: "[ID_NUMBER]", PHONE: "[PHONE]",
                      MAIL: "[EMAIL]"}}
PII = {
    "zh-001": [(CARD, "6222 0212 3456 7890")],
    "zh-002": [(ID, "110101199003071234"), (PHONE, "13812345678")],
    "zh-005": [(PHONE, "13912345678")],
    "zh-007": [(ID, "320102198512150021"), (MAIL, "report@anhe-bank.example.com"),
               (MAIL, "wang.lei88@example.com")],
    "zh-011": [(PHONE, "15098765432")],
    "zh-015": [(ID, "440106198807236615")],
    "zh-016": [(CARD, "6217003310204455678")],  # 19 digits
    "zh-020": [(ID, "510104199206185527")],
    "en-002": [(PHONE, "415-555-0198")],
    "en-004": [(MAIL, "grace.liu@example.com")],
    "en-008": [(CARD, "4539 1488 0343 6467")],
    "call-zh-01": [(PHONE, "13700001111")],
    "call-en-03": [(PHONE, "(312) 555-0176")],
    "call-zh-03": [(ID, "330106199511203318")],
    "transcripts:1": [(PHONE, "18611112222")],
    "transcripts:37": [(PHONE, "13600002222")],
    "transcripts:70": [(CARD, "6228 4800 1234 5678"), (MAIL, "zhou.min@example.com")],
}


def raw_texts() -> dict[str, str]:
    """Every sample dialogue's text as written in its raw file (first record of an id),
    read without the project's readers."""
    out: dict[str, str] = {}
    for line in (RAW / "zh_dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # the deliberately broken line
        out.setdefault(rec["id"], "\n".join(t["text"] for t in rec["turns"]))
    for rec in json.loads((RAW / "en_dialogues.json").read_text(encoding="utf-8")):
        out.setdefault(rec["id"], "\n".join(t["text"] for t in rec["turns"]))
    with (RAW / "call_logs.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out[row["dialogue_id"]] = out.get(row["dialogue_id"], "") + "\n" + row["text"]
    first = None
    for no, line in enumerate((RAW / "transcripts.txt").read_text(encoding="utf-8")
                              .splitlines(), 1):
        if not line.strip():
            first = None
            continue
        first = first or no
        key = f"transcripts:{first}"
        out[key] = out.get(key, "") + "\n" + line
    return out


@pytest.fixture
def ingested(warehouse):
    report = ingest_path(RAW, "samples-exact", db=warehouse)
    assert report.reconciles
    return warehouse, report.as_dict()


def test_records_kept_passed_dropped_and_quarantined_per_file(ingested):
    db, report = ingested
    by_file = {Path(f["path"]).name: f for f in report["files"]}
    assert set(by_file) == set(PER_FILE)
    for name, (records, kept, passed, dropped, quarantined) in PER_FILE.items():
        f = by_file[name]
        assert (f["records"], f["new"], f["prefilter_passed"], f["quarantined"]) == \
            (records, kept, passed, quarantined), name
        assert f["new"] - f["prefilter_passed"] == dropped, name
    t = report["totals"]
    assert (t["records"], t["new"], t["prefilter_passed"], t["quarantined"]) == \
        (TOTAL[0], TOTAL[1], TOTAL[2], TOTAL[4])
    assert tuple(map(sum, zip(*PER_FILE.values(), strict=True))) == TOTAL

    assert query_all(db, "SELECT count(*) FROM raw.dialogues") == [(46,)]
    assert dict(query_all(db, "SELECT language, count(*) FROM raw.dialogues GROUP BY 1")) == \
        {"zh": 26, "en": 20}
    assert dict(query_all(db, "SELECT passed, count(*) FROM staging.prefilter GROUP BY 1")) \
        == {True: 32, False: 14}


def test_each_dropped_dialogue_fails_exactly_its_rules(ingested):
    db, _ = ingested
    rows = query_all(db, "SELECT d.source_dialogue_id, p.failed_rules FROM staging.prefilter p "
                         "JOIN raw.dialogues d USING (dialogue_id) WHERE NOT p.passed")
    assert {sid: set(rules) for sid, rules in rows} == DROPPED
    per_rule = dict(query_all(db, "SELECT r, count(*) FROM (SELECT unnest(failed_rules) AS r "
                                  "FROM staging.prefilter) GROUP BY r"))
    assert per_rule == PER_RULE
    assert sum(len(r) for r in DROPPED.values()) == sum(PER_RULE.values())


def test_quarantined_records_by_check(ingested):
    db, _ = ingested
    rows = query_all(db, "SELECT source_file, source_dialogue_id, line_no, \"check\" "
                         "FROM raw.quarantine")
    assert {(Path(f).name, sid, line, check) for f, sid, line, check in rows} == QUARANTINED
    assert len(rows) == TOTAL[4]


def test_the_readme_states_these_figures():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    assert ("Per-rule drop counts: too_few_turns 7, supporter_dominates 4, "
            "customer_lines_too_short 3, and 2 each for too_many_turns, utterance_too_long "
            "and no_customer.") in text
    assert "| **51** | **46** (26 zh, 20 en) | **32** | **14** | **5** |" in readme
    bullet = text[text.index("**PII masking.**"):text.index("**Merging")]
    named = set(re.findall(r"(?:zh|en|call-zh|call-en)-\d+|transcripts:\d+", bullet))
    assert named == set(PII)  # every dialogue the README names, and only those


def test_pii_of_every_listed_dialogue_is_masked(ingested):
    db, _ = ingested
    raw = raw_texts()
    stored: dict[str, tuple[str, int, str]] = {}
    for sid, lang, masked, text in query_all(
            db, "SELECT d.source_dialogue_id, d.language, d.pii_masked, "
                "string_agg(u.text, '\n' ORDER BY u.utt_index) FROM raw.dialogues d "
                "JOIN raw.utterances u USING (dialogue_id) GROUP BY ALL"):
        stored[sid] = (lang, masked, text)
    everything = "\n".join(text for _, _, text in stored.values())
    for sid, values in PII.items():
        lang, masked, text = stored[sid]
        assert masked == len(values), sid  # every value found, nothing else counted
        for kind, value in values:
            assert value in raw[sid], (sid, value)  # the value really is in the sample file
            compact = re.sub(r"[ \-()]", "", value)
            for form in {value, compact}:
                assert form not in everything, (sid, form)
            placeholder = PLACEHOLDER[lang][kind]
            wanted = sum(k == kind for k, _ in values)
            assert text.count(placeholder) == wanted, (sid, placeholder)
