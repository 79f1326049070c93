"""Stage 2: CSConv, the evaluation set. Rule-passed raw dialogues -> LLM pre-filter -> rewrite
-> post-filter -> csconv.*; then independent annotation, a Great Expectations checkpoint over
the published set, and the funnel report."""

from __future__ import annotations

from prefect import flow

from csc.csconv.plan import csconv_stages
from tasks.annotate import measure_agreement
from tasks.csconv_report import publish_funnel
from tasks.llm import llm_preflight
from tasks.quality import validate_published
from tasks.runs import refuses_bad_config, run_ledger
from tasks.stage import run_stage


@flow(name="csconv", log_prints=True)
@refuses_bad_config
def csconv(batch_size: int = 100, limit: int | None = None, refresh: bool = False,
           annotate_raw: bool = True) -> dict:
    """Only dialogues without an outcome under the current prompts and models are processed;
    `refresh` re-asks the LLM instead of using cached answers. `batch_size` items are
    committed at a time."""
    params = {"batch_size": batch_size, "limit": limit, "refresh": refresh,
              "annotate_raw": annotate_raw}
    with run_ledger("csconv", params) as run:
        llm = llm_preflight()
        opts = {"batch_size": batch_size, "limit": limit, "refresh": refresh}
        rewrite, label_kept, label_raw = csconv_stages()
        built = run_stage(rewrite, run["run_id"], **opts)
        labelled = [run_stage(stage, run["run_id"], **opts)
                    for stage in (label_kept, label_raw)[:2 if annotate_raw else 1]]
        agreement = measure_agreement(run["run_id"])
        quality = validate_published(run["run_id"])
        funnel = publish_funnel(llm["simulator"])
        summary = built.as_dict()
        run["summary"] = {
            **{k: summary[k] for k in ("input", "kept", "rejected", "dead", "deferred")},
            "llm": {k: summary["llm"].get(k, 0)
                    for k in ("calls", "cache_hits", "cache_misses", "cost_usd")},
            "annotated_dialogues": sum(c.kept for c in labelled),
            "agreement": agreement, "quality": quality, "funnel": funnel,
        }
    return run["summary"]
