"""Rule pre-filter verdicts (csc-method §3.2) for dialogues that have none under the current
thresholds; a threshold change re-versions the rules, so every dialogue is judged again."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from csc.rules import RuleConfig, prefilter
from warehouse.db import connect, insert_frame

__all__ = ["refresh_prefilter"]


def refresh_prefilter(run_id: str, *, db: Path | None = None,
                      rules: RuleConfig | None = None) -> int:
    """Evaluate the rules for dialogues with no verdict under the current thresholds
    (`rules`, else the paper's as overridden by CSC_RULES_*)."""
    rules = rules or RuleConfig.from_env()
    with connect(db) as con:
        utts = con.sql(
            "SELECT u.dialogue_id, u.speaker, u.n_chars, u.source_line_chars, d.language "
            "FROM raw.utterances u JOIN raw.dialogues d USING (dialogue_id) WHERE NOT EXISTS "
            "(SELECT 1 FROM staging.prefilter p WHERE p.dialogue_id = u.dialogue_id AND "
            f"p.rules_version = '{rules.version}')").pl()
        if utts.height == 0:
            return 0
        verdicts = prefilter(utts, rules).with_columns(pl.lit(run_id).alias("run_id"))
        return insert_frame(con, "staging.prefilter", verdicts, stamp="evaluated_at",
                            keyed=False)  # NOT EXISTS above: one verdict per version
