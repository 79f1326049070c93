"""The real STC-3 files (skipped when ../shared/corpora is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import count

from csc.ingest.service import ingest_path

pytestmark = pytest.mark.corpus


def test_all_five_stc3_files_ingest_reconcile_and_are_idempotent(stc3: Path, warehouse):
    first = ingest_path(stc3, "run-1", source="stc3", db=warehouse)
    names = sorted(Path(f.path).name for f in first.files)
    assert names == ["test_annotations_en.json.gz", "test_data_cn.json", "test_data_en.json",
                     "train_data_cn.json.gz", "train_data_en.json.gz"]
    assert first.reconciles
    totals = first.as_dict()["totals"]
    assert totals["records"] == 390 * 3 + 3700 + 1672
    assert totals["records"] == totals["new"] + totals["already_present"] + totals["quarantined"]
    # the annotations file repeats the English test dialogues: same content, same keys
    by_name = {Path(f.path).name: f for f in first.files}
    assert by_name["test_data_cn.json"].new == 390
    assert by_name["train_data_cn.json.gz"].new == 3700
    assert by_name["test_annotations_en.json.gz"].new + by_name[
        "test_data_en.json"].new == 390
    rows = {t: count(warehouse, f"SELECT count(*) FROM {t}")
            for t in ("raw.dialogues", "raw.utterances", "raw.quarantine", "staging.prefilter")}
    assert rows["raw.dialogues"] == totals["new"] == rows["staging.prefilter"]
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues WHERE language = 'zh'") >= 4000

    second = ingest_path(stc3, "run-2", source="stc3", db=warehouse)
    assert second.reconciles and second.as_dict()["totals"]["new"] == 0
    assert all(f.skipped_unchanged for f in second.files)
    assert rows == {t: count(warehouse, f"SELECT count(*) FROM {t}") for t in rows}


def test_abcd_sample_ingests_with_its_config_and_skips_action_lines(warehouse):
    from tests_support import corpus_file

    from csc.ingest.service import ingest_file
    from csc.ingest.sources import load_source

    path = corpus_file("abcd-sample/abcd_sample.json")
    s = ingest_file(path, load_source("abcd"), "r", db=warehouse)
    assert s.reconciles and s.new == 3
    assert count(warehouse, "SELECT sum(n_skipped) FROM raw.dialogues") > 0
    assert count(warehouse, "SELECT count(*) FROM raw.utterances WHERE text LIKE '%@email.com%'") == 0


def _reference_verdict(turns: list[dict], limit: int) -> set[str]:
    """§3.2 computed from the JSON with plain Python, independently of csc.rules: raw lines
    are the non-empty utterances, merged lines join a speaker's consecutive raw lines."""
    raw = [(t["sender"], u.strip()) for t in turns for u in t["utterances"] if u.strip()]
    merged: list[list] = []
    for who, text in raw:
        if merged and merged[-1][0] == who:
            merged[-1][1] += "\n" + text
        else:
            merged.append([who, text])
    cust = [text for who, text in raw if who == "customer"]
    sup = [text for who, text in raw if who != "customer"]
    failed = set()
    if len(merged) // 2 < 3:
        failed.add("too_few_turns")
    if len(merged) // 2 > 30:
        failed.add("too_many_turns")
    if max((len(text) for _, text in merged), default=0) >= limit:
        failed.add("utterance_too_long")
    if len(sup) >= 2 * len(cust):
        failed.add("supporter_dominates")
    if not cust:
        failed.add("no_customer")
    elif sum(len(text) > 3 for text in cust) / len(cust) < 0.7:
        failed.add("customer_lines_too_short")
    return failed


@pytest.mark.parametrize(("name", "limit"), [("test_data_cn.json", 500),
                                             ("test_data_en.json", 1800)])
def test_rule_verdicts_match_an_independent_reading_of_the_test_files(stc3: Path, warehouse,
                                                                      name: str, limit: int):
    import json

    from helpers import query_all

    ingest_path(stc3 / name, "run-rules", source="stc3", db=warehouse)
    stored = {sid: set(rules) for sid, rules in query_all(
        warehouse, "SELECT d.source_dialogue_id, p.failed_rules FROM raw.dialogues d "
                   "JOIN staging.prefilter p USING (dialogue_id)")}
    records = json.loads((stc3 / name).read_text(encoding="utf-8"))
    expected = {r["id"]: _reference_verdict(r["turns"], limit) for r in records}
    assert len(stored) == 390
    mismatches = {i: (stored[i], expected[i]) for i in stored if stored[i] != expected[i]}
    assert mismatches == {}
    # the figures docs/metrics.md reports for these files
    passed = sum(not rules for rules in stored.values())
    assert passed == {"test_data_cn.json": 118, "test_data_en.json": 124}[name]
