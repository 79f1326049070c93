"""Ingest tasks: one task per file (a file is one transaction), then the prefilter refresh."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from csc.ingest.report import render_markdown
from csc.ingest.service import discover, ingest_file, refresh_prefilter, resolve_source


@task(name="discover-files")
def discover_files(path: str) -> list[str]:
    files = [str(p) for p in discover(Path(path), allow_empty=True)]
    if not files:
        get_run_logger().info("no dialogue files in %s: nothing to ingest", path)
    return files


@task(name="ingest-file", retries=2, retry_delay_seconds=5)
def ingest_file_task(path: str, source: str | None, run_id: str, force: bool = False,
                     mask_pii: bool = True) -> dict:
    """Returns the file's counts only; the rows themselves go straight to the warehouse."""
    cfg = resolve_source(Path(path), source)
    if not mask_pii:
        cfg = cfg.model_copy(update={"mask_pii": False})
    return ingest_file(Path(path), cfg, run_id, force=force).as_dict()


@task(name="refresh-prefilter")
def refresh_prefilter_task(run_id: str) -> int:
    return refresh_prefilter(run_id)


@task(name="publish-ingest-report")
def publish_ingest_report(report: dict) -> str:
    markdown = render_markdown(report)
    create_markdown_artifact(markdown, key="ingest-report", description="Ingest summary")
    return markdown
