"""Stage 2: CSConv, the evaluation set. Rule-passed raw dialogues -> LLM pre-filter -> rewrite
-> post-filter -> csconv.*; then independent annotation, a Great Expectations checkpoint over
the published set, and the funnel report."""

from __future__ import annotations

from prefect import flow

from tasks.annotate import annotate_batch, measure_agreement, plan_annotation
from tasks.csconv import plan_batches, run_batch
from tasks.csconv_report import publish_funnel
from tasks.llm import llm_preflight
from tasks.quality import validate_published
from tasks.runs import refuses_bad_config, run_ledger


@flow(name="csconv", log_prints=True)
@refuses_bad_config
def csconv(batch_size: int = 100, limit: int | None = None, refresh: bool = False,
           annotate_raw: bool = True) -> dict:
    """Only dialogues without an outcome under the current prompts and models are processed;
    `refresh` re-asks the LLM instead of using cached answers."""
    params = {"batch_size": batch_size, "limit": limit, "refresh": refresh,
              "annotate_raw": annotate_raw}
    with run_ledger("csconv", params) as run:
        llm = llm_preflight()
        batches = [run_batch(b, run["run_id"], refresh) for b in plan_batches(batch_size, limit)]
        kinds = ("csconv", "raw") if annotate_raw else ("csconv",)
        labelled = [annotate_batch(k, lang, ids, run["run_id"], refresh)
                    for k, lang, ids in plan_annotation(kinds, batch_size, limit)]
        agreement = measure_agreement(run["run_id"])
        quality = validate_published(run["run_id"])
        funnel = publish_funnel(llm["simulator"])
        run["summary"] = {
            "batches": len(batches),
            **{k: sum(b[k] for b in batches) for k in ("input", "kept", "rejected", "dead",
                                                       "deferred")},
            "llm": {k: sum(b["llm"].get(k, 0) for b in batches)
                    for k in ("calls", "cache_hits", "cache_misses", "cost_usd")},
            "annotated_dialogues": sum(b["dialogues"] for b in labelled),
            "agreement": agreement, "quality": quality, "funnel": funnel,
        }
    return run["summary"]
