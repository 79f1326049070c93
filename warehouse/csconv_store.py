"""Reads and idempotent writes of the csconv.* tables."""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.db import insert_frame, query, transaction

PENDING = """
SELECT d.dialogue_id
FROM raw.dialogues d JOIN marts.prefilter_latest p USING (dialogue_id)
WHERE p.passed AND d.language = ?
  AND d.dialogue_id NOT IN (SELECT dialogue_id FROM csconv.dialogues WHERE pipeline_version = ?)
  AND d.dialogue_id NOT IN (SELECT dialogue_id FROM csconv.rejects WHERE pipeline_version = ?)
ORDER BY d.dialogue_id
"""


def pending(con: duckdb.DuckDBPyConnection, language: str, version: str,
            limit: int | None = None) -> list[str]:
    """Rule-passed dialogues of `language` with no outcome under `version` (dead letters and
    deferred ones included: they are tried again)."""
    sql = PENDING + (f" LIMIT {int(limit)}" if limit else "")
    return [r[0] for r in query(con, sql, [language, version, version])]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> int:
    if not rows:
        return 0
    stamp = None if table == "csconv.utterances" else "created_at"
    return insert_frame(con, table, pl.DataFrame(rows, infer_schema_length=None), stamp)


def write_outcomes(con: duckdb.DuckDBPyConnection, tables: dict[str, list[dict]]) -> dict:
    """Write one batch's rows, table by table, in one transaction."""
    order = ("csconv.llm_prefilter", "csconv.rewrites", "csconv.judgements",
             "csconv.dialogues", "csconv.utterances", "csconv.rejects")
    with transaction(con):
        return {table: _insert(con, table, tables.get(table, [])) for table in order}


def _drop_incomplete(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Delete the stored annotations that `rows` answer again and that left a turn 'not
    labelled', so the new answer takes their keys (and their place in every view)."""
    targets: dict[tuple[str, str, str], set[str]] = {}
    for r in rows:
        targets.setdefault((r["target_kind"], r["prompt_version"], r["model"]),
                           set()).add(r["target_id"])
    for (kind, version, model), ids in targets.items():
        con.execute("""
DELETE FROM csconv.annotations
WHERE target_kind = ? AND prompt_version = ? AND model = ?
  AND target_id IN (SELECT target_id FROM csconv.annotations
                    WHERE target_kind = ? AND prompt_version = ? AND model = ?
                      AND label_error = 'not labelled'
                      AND target_id IN (SELECT unnest(?::VARCHAR[])))""",
                    [kind, version, model, kind, version, model, sorted(ids)])


def write_annotations(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    """Write one batch's labels in one transaction. A target whose stored annotation (same
    prompt version and model) left a turn unlabelled is replaced whole by its new answer; a
    complete one is kept, and the new rows for it are skipped as duplicates."""
    if not rows:
        return 0
    with transaction(con):
        _drop_incomplete(con, rows)
        return _insert(con, "csconv.annotations", rows)


# A target is pending until it has a complete annotation under the current prompt version and
# model: one without a label_error 'not labelled' (what csc.csconv.annotate.label_rows writes
# for a supporter turn the answer left out). A label that did not map is an answer, and stays.
ANNOTATION_PENDING = {
    "csconv": """
WITH complete AS (
  SELECT target_id FROM csconv.annotations
  WHERE target_kind = ? AND prompt_version = ? AND model = ?
  GROUP BY target_id HAVING bool_and(label_error IS DISTINCT FROM 'not labelled'))
SELECT c.csconv_id, c.language FROM marts.csconv_current c
WHERE c.language = ? AND c.csconv_id NOT IN (SELECT target_id FROM complete)
ORDER BY 1""",
    "raw": """
WITH complete AS (
  SELECT target_id FROM csconv.annotations
  WHERE target_kind = ? AND prompt_version = ? AND model = ?
  GROUP BY target_id HAVING bool_and(label_error IS DISTINCT FROM 'not labelled'))
SELECT d.dialogue_id, d.language FROM raw.dialogues d
JOIN marts.prefilter_latest p USING (dialogue_id)
WHERE p.passed AND d.language = ? AND d.dialogue_id NOT IN (SELECT target_id FROM complete)
ORDER BY 1""",
}

TARGET_TURNS = {
    "csconv": "SELECT csconv_id, speaker, text FROM csconv.utterances WHERE csconv_id IN "
              "(SELECT unnest(?::VARCHAR[])) ORDER BY csconv_id, utt_index",
    "raw": "SELECT dialogue_id, speaker, text FROM raw.utterances WHERE dialogue_id IN "
           "(SELECT unnest(?::VARCHAR[])) ORDER BY dialogue_id, utt_index",
}

AGREEMENT_PAIRS = """
SELECT u.strategy_id, a.strategy_id
FROM marts.csconv_current c
JOIN csconv.utterances u USING (csconv_id)
JOIN csconv.annotations a ON a.target_kind = 'csconv' AND a.target_id = u.csconv_id
     AND a.utt_index = u.utt_index
WHERE u.speaker = 'supporter' AND u.strategy_id IS NOT NULL AND a.strategy_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY u.csconv_id, u.utt_index
                           ORDER BY a.created_at DESC) = 1
"""


def annotation_pending(con: duckdb.DuckDBPyConnection, kind: str, language: str, version: str,
                       model: str, limit: int | None = None) -> list[str]:
    """Targets of `kind` and `language` without a complete annotation by (version, model):
    never labelled, or labelled with a turn left out (asked again)."""
    sql = ANNOTATION_PENDING[kind] + (f" LIMIT {int(limit)}" if limit else "")
    return [r[0] for r in query(con, sql, [kind, version, model, language])]


def target_turns(con: duckdb.DuckDBPyConnection, kind: str,
                 ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for key, speaker, text in con.sql(TARGET_TURNS[kind], params=[ids]).fetchall():
        out.setdefault(key, []).append((speaker, text))
    return out


def agreement_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    return query(con, AGREEMENT_PAIRS)


def write_agreement(con: duckdb.DuckDBPyConnection, rows: list[dict], run_id: str) -> None:
    if not rows:
        return
    frame = pl.DataFrame([r | {"run_id": run_id} for r in rows], infer_schema_length=None,
                         schema_overrides={"strategy_id": pl.Int64, "accuracy": pl.Float64,
                                           "kappa": pl.Float64})
    insert_frame(con, "csconv.label_agreement", frame, stamp="computed_at", keyed=False)


# The report reads the same funnel analysts query (marts.csconv_funnel): (step or 'kept', n).
FUNNEL = {
    "outcomes": "SELECT CASE outcome WHEN 'rejected' THEN step ELSE outcome END, dialogues "
                "FROM marts.csconv_funnel WHERE outcome IN ('kept', 'rejected')",
    "dead_lettered": "SELECT dialogues FROM marts.csconv_funnel "
                     "WHERE outcome = 'dead_lettered'",
    "rule_passed": "SELECT count(*) FROM marts.prefilter_latest WHERE passed",
    "trimmed": "SELECT count(*) FILTER (WHERE trimmed > 0), coalesce(sum(trimmed), 0) "
               "FROM csconv.rewrites r JOIN marts.csconv_outcomes o USING (dialogue_id, "
               "pipeline_version)",
    # what the masker caught in the rewrites of dialogues with an outcome (issue 11 A7):
    # rewrites holding any, spans in their turns, spans in their reasoning
    "pii": "SELECT count(*) FILTER (WHERE pii_masked > 0), coalesce(sum(pii_masked), 0), "
           "coalesce(sum(pii_masked_reasoning), 0) FROM csconv.rewrites r "
           "JOIN marts.csconv_outcomes o USING (dialogue_id, pipeline_version)",
    "strategies": "SELECT strategy_id, sum(turns) FROM marts.csconv_strategy_distribution "
                  "GROUP BY 1 ORDER BY 1",
    "before": "SELECT round(avg(d.n_utterances), 2) FROM raw.dialogues d "
              "JOIN marts.csconv_outcomes o USING (dialogue_id)",
    "after": "SELECT round(avg(n_utterances), 2), round(100 * sum(strategy_use * n_supporter) "
             "/ nullif(sum(n_supporter), 0), 2) FROM marts.csconv_current",
    "raw_strategy_use": "SELECT round(100.0 * count(*) FILTER (WHERE strategy_id BETWEEN 1 AND "
                        "11) / nullif(count(*), 0), 2) FROM csconv.annotations "
                        "WHERE target_kind = 'raw'",
    "agreement": "SELECT n, accuracy, kappa FROM marts.label_agreement_latest "
                 "WHERE scope = 'overall'",
}


def funnel_numbers(con: duckdb.DuckDBPyConnection) -> dict:
    return {name: query(con, sql) for name, sql in FUNNEL.items()}


def export_frame(con: duckdb.DuckDBPyConnection, language: str | None = None) -> pl.DataFrame:
    """Utterances of the current CSConv set, for export; `language` picks each dialogue's
    speaker and label spelling."""
    where = "WHERE c.language = ?" if language else ""
    params = [language] if language else None
    return con.sql(
        "SELECT c.csconv_id, c.language, c.business_area, u.utt_index, u.speaker, "
        "u.strategy_id, u.text "
        f"FROM marts.csconv_current c JOIN csconv.utterances u USING (csconv_id) {where} "
        "ORDER BY c.csconv_id, u.utt_index", params=params).pl()


def export_lineage(con: duckdb.DuckDBPyConnection, language: str | None = None) -> dict:
    """Which versions and models made the current set; travels with every export."""
    where = "WHERE language = ?" if language else ""
    rows = query(con, "SELECT DISTINCT pipeline_version, rewriter_model, judge_model "
                      f"FROM marts.csconv_current {where} ORDER BY ALL",
                 [language] if language else None)
    models = sorted({m for _, r, j in rows for m in (r, j)})
    return {"pipeline_versions": sorted({v for v, _, _ in rows}), "models": models,
            "simulator": any(m.startswith("sim-") for m in models)}


PUBLISHED_DIALOGUES = """
SELECT c.csconv_id, c.language, c.n_utterances, c.strategy_use,
       coalesce(bool_and(u.prev IS NULL OR u.speaker <> u.prev), false) AS alternates,
       count(DISTINCT u.strategy_id) FILTER (WHERE u.strategy_id IN (1, 2, 11)) = 3
           AS has_required_strategies,
       count(u.utt_index) = c.n_utterances AS counts_match
FROM marts.csconv_current c
LEFT JOIN (SELECT *, lag(speaker) OVER (PARTITION BY csconv_id ORDER BY utt_index) AS prev
           FROM csconv.utterances) u USING (csconv_id)
GROUP BY c.csconv_id, c.language, c.n_utterances, c.strategy_use
"""

PUBLISHED_UTTERANCES = """
SELECT u.* FROM csconv.utterances u JOIN marts.csconv_current c USING (csconv_id)
"""


def published_frames(con: duckdb.DuckDBPyConnection):
    """The current CSConv set as pandas frames, as Great Expectations validates it."""
    return con.sql(PUBLISHED_DIALOGUES).df(), con.sql(PUBLISHED_UTTERANCES).df()


def published_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of which dialogues are published: a csconv_id fixes its dialogue's content
    (source dialogue and pipeline version), so the same ids mean the same set."""
    return query(con, "SELECT md5(coalesce(string_agg(csconv_id, ',' ORDER BY csconv_id), '')) "
                      "FROM marts.csconv_current")[0][0]


def write_quality(con: duckdb.DuckDBPyConnection, rows: list[dict], run_id: str,
                  fingerprint: str | None = None) -> None:
    if rows:
        frame = pl.DataFrame([r | {"run_id": run_id, "fingerprint": fingerprint} for r in rows],
                             infer_schema_length=None)
        insert_frame(con, "ops.quality_checks", frame, stamp="checked_at", keyed=False)


def quality_verdict(con: duckdb.DuckDBPyConnection, fingerprint: str) -> list[dict] | None:
    """The results of the latest checkpoint over exactly this set and suite, if any."""
    try:
        found = con.sql(
            'SELECT "table", expectation, "column", success, unexpected_count '
            "FROM ops.quality_checks WHERE run_id = (SELECT run_id FROM ops.quality_checks "
            "WHERE fingerprint = ? ORDER BY checked_at DESC LIMIT 1)", params=[fingerprint])
        rows = found.fetchall()
    except duckdb.BinderException:  # a read-only warehouse not yet migrated to 007
        return None
    names = found.columns
    return [dict(zip(names, r, strict=True)) for r in rows] or None
