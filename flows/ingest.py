"""Stage 1: raw dialogue files -> raw.* tables, quarantine, rule pre-filter verdicts."""

from __future__ import annotations

from prefect import flow

from csc.ingest.report import build_report
from csc.paths import drop_folder
from tasks.ingest import (
    discover_files,
    ingest_file_task,
    publish_ingest_report,
    refresh_prefilter_task,
)
from tasks.runs import refuses_bad_config, run_ledger


@flow(name="ingest", log_prints=True)
@refuses_bad_config
def ingest(path: str | None = None, source: str | None = None, force: bool = False,
           mask_pii: bool = True) -> dict:
    """Ingest a file or a drop folder (`path`, else CSC_DROP_FOLDER); files already ingested
    unchanged are skipped, and an empty folder is a quiet night, not an error."""
    path = str(drop_folder(path))
    params = {"path": path, "source": source, "force": force, "mask_pii": mask_pii}
    with run_ledger("ingest", params) as run:
        files = discover_files(path)
        summaries = [ingest_file_task(f, source, run["run_id"], force, mask_pii) for f in files]
        refresh_prefilter_task(run["run_id"])
        report = build_report(summaries)
        publish_ingest_report(report)
        run["summary"] = report["totals"] | {"reconciles": report["reconciles"]}
    return report | {"run_id": run["run_id"]}
