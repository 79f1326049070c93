"""Stage 1: raw dialogue files -> raw.* tables, quarantine, rule pre-filter verdicts."""

from __future__ import annotations

from prefect import flow

from csc.ingest.report import build_report
from csc.paths import SAMPLES
from tasks.ingest import (
    discover_files,
    ingest_file_task,
    publish_ingest_report,
    refresh_prefilter_task,
)
from tasks.runs import run_ledger

DEFAULT_DROP = str(SAMPLES)


@flow(name="ingest", log_prints=True)
def ingest(path: str = DEFAULT_DROP, source: str | None = None, force: bool = False,
           mask_pii: bool = True) -> dict:
    """Ingest a file or a drop folder; files already ingested unchanged are skipped."""
    params = {"path": path, "source": source, "force": force, "mask_pii": mask_pii}
    with run_ledger("ingest", params) as run:
        files = discover_files(path)
        summaries = [ingest_file_task(f, source, run["run_id"], force, mask_pii) for f in files]
        refresh_prefilter_task(run["run_id"])
        report = build_report(summaries)
        publish_ingest_report(report)
        run["summary"] = report["totals"] | {"reconciles": report["reconciles"]}
    return report
