"""The RoleCS steps around the LLM stage: personas into the warehouse before it; after it, the
near-duplicate check (csc.rolecs.near_duplicates) and the quality and diversity report
(csc.rolecs.report)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from csc.rolecs import intake, near_duplicates, report
from tasks.csconv_report import write_report
from warehouse.db import connect, insert_rows, output_dir, query, transaction
from warehouse.queries import sql


@task(name="load-personas")
def load_personas(path: str | None = None, generate: int = 0, seed: int = 0) -> dict:
    """The personas file's profiles (default: the bundled samples), plus `generate` drawn
    from the attribute grids; counts per source (read = new + present + rejected)."""
    counts = {"file": intake.load_persona_file(Path(path) if path else None)}
    if generate:
        counts["generated"] = intake.load_generated(generate, seed)
    logger = get_run_logger()
    for source, c in counts.items():
        logger.info("personas (%s): %d read, %d new, %d already stored, %d rejected", source,
                    c["read"], c["new"], c["present"], c["rejected"])
    return counts


# ---- after the stage: near-duplicates, then the report -------------------------------------

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


@task(name="rolecs-near-duplicates")
def check_near_duplicates(run_id: str) -> dict:
    """Mark the new dialogues that repeat an earlier one; how many were checked and marked,
    and how many of this run's dialogues are accepted (marts.rolecs_accepted)."""
    with connect() as con:
        counts = mark_near_duplicates(con)
        counts["accepted"] = query(con, sql("rolecs/accepted_in_run"), [run_id])[0][0]
    get_run_logger().info("near-duplicates: %d dialogues checked, %d repeat an earlier "
                          "dialogue, %d an earlier scenario; %d of this run's accepted",
                          counts["checked"], counts["dialogue"], counts["scenario"],
                          counts["accepted"])
    return counts


def _by_name(con: duckdb.DuckDBPyConnection, statement: str) -> list[dict]:
    found = con.sql(statement)
    names = found.columns
    return [dict(zip(names, row, strict=True)) for row in found.fetchall()]


def report_numbers(con: duckdb.DuckDBPyConnection) -> dict:
    """What the report shows: rows of the marts.rolecs_* views by column name (through the
    sql/queries/rolecs/report_*.sql that read them), the stage's LLM cost, and the text
    metrics of the accepted set's turns."""
    turns = [report.Turn(*r) for r in query(con, sql("rolecs/report_turns"))]
    return {
        "summary": _by_name(con, sql("rolecs/report_summary")),
        "outcomes": _by_name(con, sql("rolecs/report_outcomes")),
        "strategies": _by_name(con, sql("rolecs/report_strategies")),
        "transitions": _by_name(con, sql("rolecs/report_transitions")),
        "coverage": _by_name(con, sql("rolecs/report_coverage")),
        "near_duplicates": _by_name(con, sql("rolecs/report_near_duplicates")),
        "cost": _by_name(con, sql("rolecs/report_cost"))[0],
        "simulated": _by_name(con, sql("rolecs/report_simulated"))[0],
        "texts": report.text_metrics(turns),
    }


@task(name="rolecs-report")
def publish_report(simulator: bool) -> dict:
    """The quality and diversity report: a markdown artifact and <output dir>/reports/rolecs.md.
    `simulator`: this run's endpoint is the offline simulator (the report says so)."""
    with connect() as con:
        numbers = report_numbers(con)
    markdown = report.render(numbers, simulator)
    path = output_dir() / "reports" / "rolecs.md"
    write_report(path, markdown)
    create_markdown_artifact(markdown, key="rolecs-report",
                             description="RoleCS quality and diversity")
    return report.figures(numbers) | {"simulator": report.simulated(numbers, simulator),
                                      "report": str(path)}
