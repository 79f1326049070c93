"""The §3.2 rule pre-filter on the STC-3 DCH-1 files, rule by rule (docs/metrics.md).

Ingests the four STC-3 data files into a throw-away warehouse, then counts, per file, how
many dialogues each rule drops and how many pass, under the current rules and under the
rules as they were before raw lines were counted (merged utterances as lines, R2 over 500
characters in both languages). Needs ../shared/corpora; says so and exits 0 without it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csc.ingest.service import ingest_path  # noqa: E402
from csc.rules import RULES, RuleConfig, prefilter  # noqa: E402
from warehouse.db import connect  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "stc3-dch1"
FILES = ("test_data_cn.json", "test_data_en.json", "train_data_cn.json.gz",
         "train_data_en.json.gz")
# Before issue 10: every merged utterance was one line, and R2 fired over 500 in any language.
BEFORE = RuleConfig(max_utterance_chars_zh=501, max_utterance_chars_en=501)


def tally(verdicts: pl.DataFrame) -> dict:
    out = {"dialogues": verdicts.height, "passed": int(verdicts["passed"].sum())}
    for rule in RULES:
        out[rule] = int(verdicts["failed_rules"].list.contains(rule).sum())
    return out


def main() -> int:
    if not CORPUS.is_dir():
        print(f"{CORPUS} is absent: nothing to measure")
        print(json.dumps({"skipped": True}))
        return 0
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "wh.duckdb"
        os.environ["CSC_WAREHOUSE"] = str(db)
        drop = Path(tmp) / "drop"
        drop.mkdir()
        for name in FILES:
            (drop / name).symlink_to(CORPUS / name)
        ingest_path(drop, "bench-stc3", source="stc3", db=db, rules=RuleConfig())
        with connect(db) as con:
            utts = con.sql(
                "SELECT u.dialogue_id, u.speaker, u.n_chars, u.source_line_chars, d.language, "
                "d.source_file FROM raw.utterances u JOIN raw.dialogues d USING (dialogue_id)"
            ).pl()
    for name in FILES:
        part = utts.filter(pl.col("source_file").str.ends_with(name))
        now = tally(prefilter(part, RuleConfig()))
        before = tally(prefilter(part.drop("source_line_chars"), BEFORE))
        figures[name] = {"now": now, "before": before}
        print(f"{name}: {now['dialogues']} dialogues; passed {before['passed']} -> "
              f"{now['passed']}; " + ", ".join(
                  f"{r} {before[r]} -> {now[r]}" for r in RULES))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
