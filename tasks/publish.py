"""The nightly's own outputs: its progress while it runs, the analysts' snapshot at the end,
and the run summary as an artifact."""

from __future__ import annotations

from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)

from csc.quality.gate import GateFailed, run_gate
from warehouse.snapshot import publish_snapshot


@task(name="publish")
def publish(run_id: str) -> dict:
    """Swap in the analysts' read-only snapshot of the warehouse (warehouse/snapshot.py), once
    the data-quality gate passes over everything in it, tonight's evaluation included (the
    gate before the evaluation could not see it). A failed gate publishes nothing: GateFailed
    names each failing expectation."""
    result = run_gate(run_id=run_id)
    if not result.passed:
        raise GateFailed(result.message(), result)
    path = publish_snapshot()
    get_run_logger().info("published the analysts' snapshot %s (run %s)", path, run_id[:12])
    return {"snapshot": str(path),
            "data_docs": str(result.docs_path) if result.docs_path else None}


def summary_artifact(markdown: str) -> None:
    """The run summary as a Markdown artifact (call inside a flow run)."""
    create_markdown_artifact(markdown, key="nightly-summary",
                             description="Per stage: status, duration, LLM calls, cache hits, "
                                         "cost, dead letters")


class NightProgress:
    """The night's progress (stages done of all, elapsed, LLM calls and cost so far) as a
    Prefect progress artifact and a log line per stage; an API that fails costs a warning."""

    def __init__(self) -> None:
        self.artifact: UUID | None = None

    def __call__(self, dag, running: str | None) -> None:
        line = dag.progress_line(running)
        get_run_logger().info("nightly: %s", line)
        percent = 100.0 * len(dag.stages) / max(dag.total, 1)
        try:
            if self.artifact is None:
                self.artifact = create_progress_artifact(
                    percent, key="nightly-progress", description=line,
                    _sync=True)  # type: ignore[call-arg]
            else:
                update_progress_artifact(self.artifact, percent, description=line,
                                         _sync=True)  # type: ignore[call-arg]
        except Exception as exc:
            get_run_logger().warning("no progress artifact: %s", exc)
