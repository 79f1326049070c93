"""Reads and idempotent writes of the csconv.* tables."""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.db import insert_frame, insert_rows, query, query_dicts, transaction
from warehouse.queries import sql


def pending(con: duckdb.DuckDBPyConnection, language: str, version: str,
            limit: int | None = None) -> list[str]:
    """Rule-passed dialogues of `language` with no outcome under `version` (dead letters and
    deferred ones included: they are tried again)."""
    text = sql("csconv/pending") + (f"\nLIMIT {int(limit)}" if limit else "")
    return [r[0] for r in query(con, text, [language, version, version])]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> int:
    return insert_rows(con, table, rows, None if table == "csconv.utterances" else "created_at")


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
        con.execute(sql("annotate/drop_incomplete"),
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


def annotation_pending(con: duckdb.DuckDBPyConnection, kind: str, language: str, version: str,
                       model: str, limit: int | None = None) -> list[str]:
    """Targets of `kind` and `language` without a complete annotation by (version, model):
    never labelled, or labelled with a turn left out (asked again). Complete: no label_error
    'not labelled' (what csc.csconv.annotate.label_rows writes for a supporter turn the answer
    left out); a label that did not map is an answer, and stays."""
    text = {"csconv": sql("annotate/pending_csconv"), "raw": sql("annotate/pending_raw")}[kind]
    text += f"\nLIMIT {int(limit)}" if limit else ""
    return [r[0] for r in query(con, text, [kind, version, model, language])]


def target_turns(con: duckdb.DuckDBPyConnection, kind: str,
                 ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    turns = {"csconv": sql("annotate/target_turns_csconv"),
             "raw": sql("annotate/target_turns_raw")}[kind]
    for key, speaker, text in con.sql(turns, params=[ids]).fetchall():
        out.setdefault(key, []).append((speaker, text))
    return out


def agreement_turns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, int]]:
    """(csconv_id, utt_index, rewrite label, annotator label) per compared supporter turn."""
    return query(con, sql("annotate/agreement_pairs"))


def write_agreement(con: duckdb.DuckDBPyConnection, rows: list[dict], run_id: str,
                    measured_key: str) -> bool:
    """Store a measurement unless the newest one stored measured the same turns (same
    key): a measurement that did not change is not a new row. True when rows were written."""
    if not rows:
        return False
    latest = query(con, sql("annotate/agreement_latest_key"))
    if latest and latest[0][0] == measured_key:
        return False
    frame = pl.DataFrame([r | {"run_id": run_id, "measured_key": measured_key} for r in rows],
                         infer_schema_length=None,
                         schema_overrides={"strategy_id": pl.Int64, "accuracy": pl.Float64,
                                           "kappa": pl.Float64})
    insert_frame(con, "csconv.label_agreement", frame, stamp="computed_at", keyed=False)
    return True


def funnel_numbers(con: duckdb.DuckDBPyConnection) -> dict:
    """What the funnel report shows. "funnel" holds the rows of marts.csconv_funnel (the one
    definition of the outcome counts) as dicts by column name; the other numbers are rows of
    their sql/queries/csconv/report_*.sql query."""
    return {
        "funnel": query_dicts(con, sql("csconv/report_funnel")),
        "rule_passed": query(con, sql("csconv/report_rule_passed")),
        "trimmed": query(con, sql("csconv/report_trimmed")),
        "pii": query(con, sql("csconv/report_pii")),
        "strategies": query(con, sql("csconv/report_strategies")),
        "before": query(con, sql("csconv/report_before")),
        "after": query(con, sql("csconv/report_after")),
        "raw_strategy_use": query(con, sql("csconv/report_raw_strategy_use")),
        "agreement": query(con, sql("csconv/report_agreement")),
    }


def export_frame(con: duckdb.DuckDBPyConnection, language: str | None = None) -> pl.DataFrame:
    """Utterances of the current CSConv set, for export; `language` picks each dialogue's
    speaker and label spelling."""
    return con.sql(sql("csconv/export_utterances"), params=[language or None]).pl()


def export_lineage(con: duckdb.DuckDBPyConnection, language: str | None = None) -> dict:
    """Which versions and models made the current set; travels with every export."""
    rows = query(con, sql("csconv/export_lineage"), [language or None])
    models = sorted({m for _, r, j in rows for m in (r, j)})
    return {"pipeline_versions": sorted({v for v, _, _ in rows}), "models": models,
            "simulator": any(m.startswith("sim-") for m in models)}


def published_frames(con: duckdb.DuckDBPyConnection):
    """The current CSConv set as pandas frames, as Great Expectations validates it."""
    return (con.sql(sql("quality/published_dialogues")).df(),
            con.sql(sql("quality/published_utterances")).df())


def published_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of which dialogues are published: a csconv_id fixes its dialogue's content
    (source dialogue and pipeline version), so the same ids mean the same set."""
    return query(con, sql("quality/published_digest"))[0][0]


def write_quality(con: duckdb.DuckDBPyConnection, rows: list[dict], run_id: str,
                  fingerprint: str | None = None) -> None:
    if rows:
        frame = pl.DataFrame([r | {"run_id": run_id, "fingerprint": fingerprint} for r in rows],
                             infer_schema_length=None)
        insert_frame(con, "ops.quality_checks", frame, stamp="checked_at", keyed=False)


def quality_verdict(con: duckdb.DuckDBPyConnection, fingerprint: str) -> list[dict] | None:
    """The results of the latest checkpoint over exactly this set and suite, if any."""
    try:
        return query_dicts(con, sql("quality/latest_verdict"), [fingerprint]) or None
    except duckdb.BinderException:  # a read-only warehouse not yet migrated to 007
        return None


def batch_areas(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, str | None]:
    """The business area of each raw dialogue in `ids` (carried into csconv.dialogues)."""
    return dict(query(con, sql("csconv/batch_areas"), [ids]))
