"""The nightly DAG. Each stage is its own flow, run here in dependency order:

    ingest -> csconv (LLM pre-filter, rewrite, post-filter, annotation, funnel)
    rolecs (personas -> simulated, judged dialogues; needs nothing above)
    csconv + rolecs -> quality (the data-quality gate over every published table)
    quality -> finetune (export the accepted set when enough is new; train it at the provider)
    quality -> evaluate (every registered and fine-tuned model, both settings)
    quality + evaluate -> publish (the gate again, over tonight's results too; then the
                                   analysts' snapshot)

A failed stage stops only the stages that need it; the others run, and the night ends failed
with each failure named. The run summary (per stage: status, duration, counts, LLM calls,
cache hits, cost, dead letters) is in ops.runs and a Prefect artifact.
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
from tasks.dag import Dag
from tasks.publish import NightProgress, publish, summary_artifact
from tasks.quality import quality_gate
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
        dag = Dag(total=7, on_change=NightProgress())
        dag.run("ingest", ingest, path=drop, source=source, shape=_ingest)
        dag.run("csconv", csconv, batch_size=csconv_batch_size, needs=("ingest",),
                shape=_csconv)
        dag.run("rolecs", rolecs, per_language=rolecs_per_language, shape=_rolecs)
        # bad data goes no further: not into a training set, an evaluation, or the snapshot
        dag.run("quality", quality_gate, run["run_id"], needs=("csconv", "rolecs"))
        dag.run("finetune", finetune, force=finetune_force, evaluate_after=False,
                needs=("quality",), shape=_finetune)
        dag.run("evaluate", evaluate, needs=("quality",), shape=_evaluate)
        dag.run("publish", publish, run["run_id"], needs=("quality", "evaluate"))
        dag.finish()
        run["summary"] = dag.stages
        summary_artifact(dag.markdown())
        dag.raise_if_failed()
    return run["summary"]


# What each stage's summary keeps of its flow's result (the figures are added by the Dag).

def _ingest(r: dict) -> dict:
    return r["totals"] | {"reconciles": r["reconciles"]}


def _csconv(r: dict) -> dict:
    return {k: r[k] for k in ("input", "kept", "rejected", "dead", "deferred")} | {
        "reconciles": r["funnel"]["reconciles"], "report": r["funnel"]["report"],
        "quality_checks_passed": r["quality"]["success"]}


def _rolecs(r: dict) -> dict:
    return {k: r[k] for k in ("input", "kept", "rejected", "dead", "deferred", "accepted")}


def _finetune(r: dict) -> dict:
    return {"decision": r["export"]["decision"], "export_id": r["export"]["export_id"],
            "job": r["job"]}


def _evaluate(r: dict) -> dict:
    return {"runs": len(r["runs"]), "metrics": r["metrics"], "report": r["report"]}
