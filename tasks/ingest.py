"""Ingest tasks: one task per file (a file is one transaction), then the prefilter refresh."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import task_run

from csc.ingest.report import render_markdown
from csc.ingest.service import (
    discover,
    give_up_on_file,
    ingest_file,
    refresh_prefilter,
    resolve_source,
)
from tasks.retries import retry_if_transient


@task(name="discover-files")
def discover_files(path: str) -> list[str]:
    files = [str(p) for p in discover(Path(path), allow_empty=True)]
    if not files:
        get_run_logger().info("no dialogue files in %s: nothing to ingest", path)
    return files


RETRIES = 2


# A file is retried only when another attempt may succeed (a failing disk or mount): bad data
# fails the same way every time and is quarantined; a full disk or a warehouse busy past its
# wait (CSC_WAREHOUSE_WAIT_S) ends the run with one line.
@task(name="ingest-file", retries=RETRIES, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient)
def ingest_file_task(path: str, source: str | None, run_id: str, force: bool = False,
                     mask_pii: bool = True) -> dict:
    """Returns the file's counts only; the rows themselves go straight to the warehouse. A
    transient failure is retried; after the last retry the file is quarantined like any
    failed file, so one file never stops the run."""
    cfg = resolve_source(Path(path), source)
    if not mask_pii:
        cfg = cfg.model_copy(update={"mask_pii": False})
    try:
        return ingest_file(Path(path), cfg, run_id, force=force).as_dict()
    except OSError as exc:
        if task_run.get_run_count() <= RETRIES:
            raise
        return give_up_on_file(Path(path), cfg, run_id, exc).as_dict()


@task(name="refresh-prefilter")
def refresh_prefilter_task(run_id: str) -> int:
    return refresh_prefilter(run_id)


@task(name="publish-ingest-report")
def publish_ingest_report(report: dict) -> str:
    markdown = render_markdown(report)
    create_markdown_artifact(markdown, key="ingest-report", description="Ingest summary")
    return markdown
