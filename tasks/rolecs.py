"""The RoleCS steps around the LLM stage: personas into the warehouse before it; after it, the
near-duplicate check (csc.rolecs.near_duplicates) and the quality and diversity report
(csc.rolecs.report)."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from csc.rolecs import intake, report, service
from tasks.csconv_report import write_report
from warehouse.db import connect, output_dir, query
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

@task(name="rolecs-near-duplicates")
def check_near_duplicates(run_id: str) -> dict:
    """Mark the new dialogues that repeat an earlier one; how many were checked and marked,
    and how many of this run's dialogues are accepted (marts.rolecs_accepted)."""
    with connect() as con:
        counts = service.mark_near_duplicates(con)
        counts["accepted"] = query(con, sql("rolecs/accepted_in_run"), [run_id])[0][0]
    get_run_logger().info("near-duplicates: %d dialogues checked, %d repeat an earlier "
                          "dialogue, %d an earlier scenario; %d of this run's accepted",
                          counts["checked"], counts["dialogue"], counts["scenario"],
                          counts["accepted"])
    return counts


@task(name="rolecs-report")
def publish_report(simulator: bool) -> dict:
    """The quality and diversity report: a markdown artifact and <output dir>/reports/rolecs.md.
    `simulator`: this run's endpoint is the offline simulator (the report says so)."""
    with connect() as con:
        numbers = service.report_numbers(con)
    markdown = report.render(numbers, simulator)
    path = output_dir() / "reports" / "rolecs.md"
    write_report(path, markdown)
    create_markdown_artifact(markdown, key="rolecs-report",
                             description="RoleCS quality and diversity")
    return report.figures(numbers) | {"simulator": report.simulated(numbers, simulator),
                                      "report": str(path)}
