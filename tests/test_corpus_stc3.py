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
