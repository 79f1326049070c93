"""The data-quality gate as a flow of its own: every published table checked with Great
Expectations, results in ops.validation_results, Data Docs in <output dir>/quality/data_docs/.
The nightly DAG runs the same task (tasks.quality.quality_gate) before it publishes."""

from __future__ import annotations

from prefect import flow

from tasks.quality import quality_gate
from tasks.runs import refuses_bad_config, run_ledger


@flow(name="quality", log_prints=True)
@refuses_bad_config
def quality() -> dict:
    """Run the gate once; a failed critical expectation fails the run with one paragraph
    naming each failure, its table and how many rows."""
    with run_ledger("quality", {}) as run:
        run["summary"] = quality_gate(run["run_id"])
    return run["summary"]
