"""tools/demo_snapshot.py: counts and hashes of the stage tables, so a change to how the
stages run can show the demo's warehouse holds the same results as before it.

The end-to-end test runs `csc demo` into a temporary warehouse and compares it with
tests/data/demo_snapshot.json (made from the demo at 6835ab1, before the stage kit)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csc.paths import PROJECT_ROOT
from warehouse.db import connect

try:
    from tools import demo_snapshot as snap
except ModuleNotFoundError:  # `pytest` started without the project root on sys.path
    sys.path.insert(0, str(PROJECT_ROOT))
    from tools import demo_snapshot as snap

BASELINE = PROJECT_ROOT / "tests" / "data" / "demo_snapshot.json"


def add_dialogue(con, did: str, text: str = "你好", run_id: str = "run-1",
                 source_file: str = "/a/samples/raw/x.jsonl") -> None:
    con.execute("INSERT INTO raw.dialogues (dialogue_id, source, source_dialogue_id, "
                "source_file, file_sha256, record_no, line_no, language, business_area, "
                "n_utterances, n_lines_in, n_empty_dropped, n_skipped, pii_masked, run_id, "
                "ingested_at) VALUES (?, 'jsonl', ?, ?, 'sha', 1, 1, 'zh', NULL, 2, 2, 0, 0, "
                "0, ?, now())", [did, did, source_file, run_id])
    for i, (speaker, t) in enumerate([("customer", text), ("supporter", "您好")]):
        con.execute("INSERT INTO raw.utterances (dialogue_id, utt_index, speaker, text, "
                    "n_chars) VALUES (?, ?, ?, ?, ?)", [did, i, speaker, t, len(t)])


def add_rewrite(con, did: str, turns: str, run_id: str = "run-2") -> None:
    con.execute("INSERT INTO csconv.rewrites (dialogue_id, pipeline_version, turns, reasoning, "
                "trimmed, model, prompt_version, run_id, created_at, faithfulness) "
                "VALUES (?, 'v1', ?, NULL, 0, 'm', 'p@1', ?, now(), 0.1 + 0.2)",
                [did, turns, run_id])


def add_reject(con, did: str, step: str, run_id: str = "run-2") -> None:
    con.execute("INSERT INTO csconv.rejects VALUES (?, 'v1', ?, 'why', ?, now())",
                [did, step, run_id])


def build(db: Path, *, text: str = "你好", run_id: str = "run-1",
          source_file: str = "/a/samples/raw/x.jsonl",
          turns: str = '[{"speaker": "客服", "text": "您好"}]') -> Path:
    with connect(db) as con:  # the project's migrations
        add_dialogue(con, "d1", text, run_id, source_file)
        add_dialogue(con, "d2", run_id=run_id, source_file=source_file)
        add_rewrite(con, "d1", turns, run_id)
        add_reject(con, "d2", "length", run_id)
    return db


def test_every_stage_table_is_in_the_snapshot(tmp_path):
    tables = snap.snapshot(build(tmp_path / "wh.duckdb"))["tables"]
    assert {"raw.dialogues", "raw.utterances", "raw.quarantine", "staging.prefilter",
            "csconv.dialogues", "csconv.utterances", "csconv.rejects", "csconv.llm_prefilter",
            "csconv.rewrites", "csconv.judgements", "csconv.annotations"} <= set(tables)
    assert tables["raw.utterances"]["rows"] == 4 and tables["csconv.dialogues"]["rows"] == 0
    assert tables["csconv.rejects"]["by_step"] == {"length": 1}


def test_a_changed_utterance_text_changes_the_content_hash_not_the_keys(tmp_path):
    a = snap.snapshot(build(tmp_path / "a.duckdb"))["tables"]["raw.utterances"]
    b = snap.snapshot(build(tmp_path / "b.duckdb", text="你好！"))["tables"]["raw.utterances"]
    assert a["rows"] == b["rows"] and a["keys_sha256"] == b["keys_sha256"]
    assert a["sha256"] != b["sha256"]


def test_run_ids_timestamps_and_the_checkout_path_do_not_count(tmp_path):
    a = snap.snapshot(build(tmp_path / "a.duckdb"))
    time.sleep(0.01)  # other timestamps too
    b = snap.snapshot(build(tmp_path / "b.duckdb", run_id="run-9",
                            source_file="/elsewhere/samples/raw/x.jsonl",
                            turns='[{"text":"您好","speaker":"客服"}]'))
    assert a == b


def test_a_moved_key_changes_the_key_hash(tmp_path):
    a = build(tmp_path / "a.duckdb")
    b = build(tmp_path / "b.duckdb")
    with connect(b) as con:
        con.execute("UPDATE raw.utterances SET utt_index = 5 WHERE utt_index = 1 "
                    "AND dialogue_id = 'd1'")
    ta, tb = (snap.snapshot(p)["tables"]["raw.utterances"] for p in (a, b))
    assert ta["rows"] == tb["rows"] and ta["keys_sha256"] != tb["keys_sha256"]


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.demo_snapshot", *map(str, args)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_compare_exits_0_when_identical_and_1_naming_what_differs(tmp_path):
    baseline = tmp_path / "baseline.json"
    a = build(tmp_path / "a.duckdb")
    done = run_tool(a, "--out", baseline)
    assert done.returncode == 0, done.stderr
    assert json.loads(baseline.read_text(encoding="utf-8"))["format"] == snap.FORMAT
    assert snap.main([str(build(tmp_path / "same.duckdb", run_id="other")),
                      "--compare", str(baseline)]) == 0

    b = build(tmp_path / "b.duckdb", text="改了")
    with connect(b) as con:
        add_reject(con, "d1", "judge")
    done = run_tool(b, "--compare", baseline)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert "raw.utterances: content differs" in lines
    assert "csconv.rejects: rows 1 -> 2, keys differ, rows differ" in lines
    assert "  step=judge: 0 -> 1" in lines
    assert not any(line.startswith("raw.dialogues") for line in lines)


@pytest.mark.parametrize("case", ["warehouse", "baseline", "not_a_warehouse", "bad_json"])
def test_a_missing_or_wrong_file_is_one_line_without_a_traceback(tmp_path, case):
    wh, baseline = build(tmp_path / "wh.duckdb"), tmp_path / "baseline.json"
    baseline.write_text(snap.dump(snap.snapshot(wh)), encoding="utf-8")
    if case == "warehouse":
        wh = tmp_path / "missing.duckdb"
    elif case == "baseline":
        baseline = tmp_path / "missing.json"
    elif case == "not_a_warehouse":
        import duckdb

        wh = tmp_path / "other.duckdb"
        duckdb.connect(str(wh)).close()
    else:
        baseline.write_text("{nope", encoding="utf-8")
    done = run_tool(wh, "--compare", baseline)
    assert done.returncode == 2
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("demo_snapshot: error:"), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


# The demo's own stage tables against the snapshot: tests/test_cli_and_flows.py::
# test_nightly_on_the_bundled_samples runs what `csc demo` runs (the nightly flow over the
# samples against the simulator) and compares its warehouse, without a second demo run.
