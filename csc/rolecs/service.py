"""RoleCS steps around the LLM stage that read and write the warehouse: the near-duplicate
check of new dialogues, and the numbers the quality and diversity report shows. tasks/rolecs.py
wraps them in Prefect tasks."""

from __future__ import annotations

from collections import Counter

import duckdb

from csc.rolecs import near_duplicates, report
from warehouse.db import insert_rows, query, query_dicts, transaction
from warehouse.queries import sql


def mark_near_duplicates(con: duckdb.DuckDBPyConnection,
                         threshold: float = near_duplicates.THRESHOLD) -> dict:
    """Check every dialogue without a rolecs.near_duplicates row against all earlier ones
    (its text, then its scenario and goal) and write one row for each: its duplicate, or
    NULLs. Incremental and idempotent: a rerun with nothing new checks nothing."""
    rows = query(con, sql("rolecs/near_duplicate_texts"))
    new = [r[0] for r in rows if not r[3]]
    if not new:
        return {"checked": 0, "dialogue": 0, "scenario": 0}
    found = {}
    for kind, column in (("scenario", 4), ("dialogue", 5)):  # a dialogue's own text wins
        texts = [near_duplicates.Text(r[0], r[2], r[1], r[column]) for r in rows]
        for d in near_duplicates.find_near_duplicates(texts, new, threshold):
            found[d.id] = (kind, d)
    marks = [{"dialogue_id": did, "kind": found[did][0] if did in found else None,
              "duplicate_of": found[did][1].duplicate_of if did in found else None,
              "similarity": found[did][1].similarity if did in found else None,
              "threshold": threshold} for did in new]
    with transaction(con):
        insert_rows(con, "rolecs.near_duplicates", marks, "checked_at")
    kinds = Counter(kind for kind, _ in found.values())
    return {"checked": len(new), "dialogue": kinds["dialogue"], "scenario": kinds["scenario"]}


def report_numbers(con: duckdb.DuckDBPyConnection) -> dict:
    """What the report shows: rows of the marts.rolecs_* views by column name (through the
    sql/queries/rolecs/report_*.sql that read them), the stage's LLM cost, and the text
    metrics of the accepted set's turns."""
    turns = [report.Turn(*r) for r in query(con, sql("rolecs/report_turns"))]
    return {
        "summary": query_dicts(con, sql("rolecs/report_summary")),
        "outcomes": query_dicts(con, sql("rolecs/report_outcomes")),
        "strategies": query_dicts(con, sql("rolecs/report_strategies")),
        "transitions": query_dicts(con, sql("rolecs/report_transitions")),
        "coverage": query_dicts(con, sql("rolecs/report_coverage")),
        "near_duplicates": query_dicts(con, sql("rolecs/report_near_duplicates")),
        "cost": query_dicts(con, sql("rolecs/report_cost"))[0],
        "simulated": query_dicts(con, sql("rolecs/report_simulated"))[0],
        "texts": report.text_metrics(turns),
    }
