"""The nightly DAG. Each stage is its own flow, run here in dependency order.

    ingest -> llm preflight -> (csconv build, rolecs synthesis, exports, fine-tune trigger,
                                evaluation: the LLM stages, landing next)
"""

from __future__ import annotations

from prefect import flow

from flows.ingest import DEFAULT_DROP, ingest
from tasks.llm import llm_preflight
from tasks.runs import run_ledger


@flow(name="nightly", log_prints=True)
def nightly(drop_folder: str = DEFAULT_DROP, source: str | None = None) -> dict:
    """Refresh every dataset from what has landed in the drop folder since the last run."""
    with run_ledger("nightly", {"drop_folder": drop_folder, "source": source}) as run:
        ingested = ingest(path=drop_folder, source=source)
        run["summary"] = {"ingest": ingested["totals"] | {"reconciles": ingested["reconciles"]}}
        run["summary"]["llm"] = llm_preflight()
    return run["summary"]
