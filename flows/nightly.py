"""The nightly DAG. Each stage is its own flow, run here in dependency order.

    ingest -> csconv (LLM pre-filter, rewrite, post-filter, annotation, funnel)
           -> (rolecs synthesis, exports, fine-tune trigger, evaluation: landing next)
"""

from __future__ import annotations

from prefect import flow

from flows.csconv import csconv
from flows.ingest import DEFAULT_DROP, ingest
from tasks.runs import run_ledger


@flow(name="nightly", log_prints=True)
def nightly(drop_folder: str = DEFAULT_DROP, source: str | None = None,
            csconv_batch_size: int = 100) -> dict:
    """Refresh every dataset from what has landed in the drop folder since the last run.

    Every stage only does work not done yet, so a rerun after a failure picks up where the
    failed run stopped.
    """
    params = {"drop_folder": drop_folder, "source": source,
              "csconv_batch_size": csconv_batch_size}
    with run_ledger("nightly", params) as run:
        ingested = ingest(path=drop_folder, source=source)
        run["summary"] = {"ingest": ingested["totals"] | {"reconciles": ingested["reconciles"]}}
        built = csconv(batch_size=csconv_batch_size)
        run["summary"]["csconv"] = {k: built[k] for k in ("input", "kept", "rejected", "dead",
                                                          "deferred")} | {
            "reconciles": built["funnel"]["reconciles"], "report": built["funnel"]["report"],
            "quality_checks_passed": built["quality"]["success"]}
    return run["summary"]
