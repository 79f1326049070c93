"""Great Expectations over the published tables: the CSConv checkpoint (ops.quality_checks)
and the data-quality gate over every published table (ops.validation_results)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from csc.csconv.postfilter import PostfilterConfig
from csc.quality.verdict import fingerprint
from warehouse.csconv_store import published_digest, published_frames, write_quality
from warehouse.db import connect

if TYPE_CHECKING:
    from csc.quality.gate import GateResult


@task(name="validate-published")
def validate_published(run_id: str) -> dict:
    # Great Expectations takes ~3 s to import: only the run that checks pays it, not every
    # process that imports a flow.
    from csc.quality.published import check_csconv

    cfg = PostfilterConfig.from_env()
    with connect() as con:
        dialogues, utterances = published_frames(con)
        checked = fingerprint(published_digest(con), cfg)
    result = check_csconv(dialogues, utterances, cfg)
    with connect() as con:
        write_quality(con, result.results, run_id, checked)
    create_table_artifact(result.results, key="csconv-quality",
                          description="Great Expectations checkpoint over the CSConv set")
    if not result.success:
        get_run_logger().error("published CSConv set fails its checks: %s",
                               result.describe_failures())
    return {"success": result.success, "expectations": len(result.results),
            "failed": len(result.failures)}


def _gate_markdown(result: GateResult) -> str:
    """The gate's verdict for the Prefect UI: the paragraph, then every failure and skip."""
    lines = [f"## Quality gate: {'passed' if result.passed else 'FAILED'}", "",
             result.message(), ""]
    rows = [r for r in result.results if r.status != "passed"]
    if rows:
        lines += ["| suite | table | expectation | column | severity | status | rows |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r.suite} | {r.table} | {r.expectation} | {r.column or ''} | "
                  f"{'critical' if r.critical else 'warning'} | {r.status} | "
                  f"{r.unexpected_count} |" for r in rows]
    if result.docs_path:
        lines += ["", f"Data Docs: `{result.docs_path}`"]
    return "\n".join(lines)


@task(name="quality-gate")
def quality_gate(run_id: str) -> dict:
    """Run the data-quality gate over every published table (csc.quality.gate.run_gate).

    Returns the gate's summary when no critical expectation failed; otherwise raises
    GateFailed (a RuntimeFailure: one paragraph naming each failing expectation, its table
    and its rows), so whatever publishes after this task does not run."""
    from prefect.artifacts import create_markdown_artifact

    from csc.quality.gate import GateFailed, run_gate

    result = run_gate(run_id=run_id)
    create_markdown_artifact(_gate_markdown(result), key="quality-gate",
                             description="Data-quality gate over the published tables")
    create_table_artifact(
        [{"suite": r.suite, "table": r.table, "expectation": r.expectation,
          "column": r.column, "critical": r.critical, "status": r.status,
          "unexpected_count": r.unexpected_count} for r in result.results],
        key="quality-gate-results", description="Every expectation of the quality gate")
    logger = get_run_logger()
    if not result.passed:
        raise GateFailed(result.message(), result)
    logger.info("%s", result.message())
    return result.summary()
