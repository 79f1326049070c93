"""The nightly DAG. Each stage is its own flow, run here in dependency order.

    ingest -> csconv (LLM pre-filter, rewrite, post-filter, annotation, funnel)
    rolecs (personas -> simulated, judged dialogues; independent of the two above)
    rolecs -> finetune (export the accepted set when enough is new; train it at the provider)
    evaluate (every registered model and every fine-tuned one on the CSConv set, both
              settings; the offline baselines learn from RoleCS) -> metrics, leaderboard
"""

from __future__ import annotations

from prefect import flow

from csc import paths
from csc.ingest.sources import load_source
from csc.llm.settings import load_settings
from flows.csconv import csconv
from flows.evaluate import evaluate
from flows.finetune import finetune
from flows.ingest import ingest
from flows.rolecs import rolecs
from tasks.runs import refuses_bad_config, run_ledger


@flow(name="nightly", log_prints=True)
@refuses_bad_config
def nightly(drop_folder: str | None = None, source: str | None = None,
            csconv_batch_size: int = 100, rolecs_per_language: int = 5,
            finetune_force: bool = False) -> dict:
    """Refresh every dataset from what has landed in the drop folder (`drop_folder`, else
    CSC_DROP_FOLDER) since the last run.

    Every stage only does work not done yet, so a rerun after a failure picks up where the
    failed run stopped. A missing drop folder or source config refuses the run before any
    stage writes. `finetune_force` exports the accepted RoleCS set even when fewer than
    CSC_FINETUNE_MIN_NEW_DIALOGUES are new (an unchanged set is never exported twice).
    """
    drop = str(paths.drop_folder(drop_folder))
    if source:
        load_source(source)
    load_settings(stages=("csconv", "rolecs", "evaluate"))  # before ingest writes anything
    params = {"drop_folder": drop, "source": source, "csconv_batch_size": csconv_batch_size,
              "rolecs_per_language": rolecs_per_language, "finetune_force": finetune_force}
    with run_ledger("nightly", params) as run:
        ingested = ingest(path=drop, source=source)
        run["summary"] = {"ingest": ingested["totals"] | {"reconciles": ingested["reconciles"]}}
        built = csconv(batch_size=csconv_batch_size)
        run["summary"]["csconv"] = {k: built[k] for k in ("input", "kept", "rejected", "dead",
                                                          "deferred")} | {
            "reconciles": built["funnel"]["reconciles"], "report": built["funnel"]["report"],
            "quality_checks_passed": built["quality"]["success"]}
        made = rolecs(per_language=rolecs_per_language)
        run["summary"]["rolecs"] = {k: made[k] for k in ("input", "kept", "rejected", "dead",
                                                         "deferred", "accepted")}
        # the evaluation does not need a new model: a provider that is down fails this stage
        # (its job resumes on the next run), and the night goes on
        state = finetune(force=finetune_force, evaluate_after=False, return_state=True)
        if state.is_completed():
            tuned = state.result()
            run["summary"]["finetune"] = {"decision": tuned["export"]["decision"],
                                          "export_id": tuned["export"]["export_id"],
                                          "job": tuned["job"]}
        else:
            run["summary"]["finetune"] = {"decision": None, "export_id": None,
                                          "job": {"skipped": f"failed: {state.message}"}}
        evaluated = evaluate()
        run["summary"]["evaluate"] = {"runs": len(evaluated["runs"]),
                                      "metrics": evaluated["metrics"],
                                      "report": evaluated["report"]}
    return run["summary"]
