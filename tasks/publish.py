"""The end of a night: publish the analysts' snapshot, and the run summary as an artifact."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from warehouse.snapshot import publish_snapshot


@task(name="publish")
def publish(run_id: str) -> dict:
    """Swap in the analysts' read-only snapshot of the warehouse (warehouse/snapshot.py)."""
    path = publish_snapshot()
    get_run_logger().info("published the analysts' snapshot %s (run %s)", path, run_id[:12])
    return {"snapshot": str(path)}


def summary_artifact(markdown: str) -> None:
    """The run summary as a Markdown artifact (call inside a flow run)."""
    create_markdown_artifact(markdown, key="nightly-summary",
                             description="Per stage: status, duration, LLM calls, cache hits, "
                                         "cost, dead letters")
