"""The fine-tune steps of the DAG: the trigger (decide, export when due) and the job that
trains the newest export (csc.finetune.jobs: resumed, never started twice)."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.finetune.jobs import NotTrainable
from csc.finetune.launch import default_base, provider_named, train
from csc.finetune.service import run_trigger


@task(name="finetune-export")
def export_if_due(force: bool, run_id: str) -> dict:
    """The trigger once: its decision, the export it names, and why."""
    outcome = run_trigger(force=force, run_id=run_id)
    d = outcome.decision
    get_run_logger().info("fine-tune trigger: %s (%s)", d.decision, d.reason)
    return {"decision": d.decision, "export_id": d.export_id, "reason": d.reason,
            "new_dialogues": d.new_dialogues}


@task(name="finetune-train")
def train_newest(provider_name: str, base_model: str | None) -> dict:
    """Train the newest export at the provider, or resume or report the job that does. An
    export that cannot be trained on is a skip with its reason, not a failure of the run."""
    logger = get_run_logger()
    base = base_model or default_base(provider_name)
    try:
        job = train(provider_named(provider_name), base)
    except NotTrainable as exc:
        logger.info("fine-tune job skipped: %s", exc)
        return {"provider": provider_name, "base_model": base, "skipped": str(exc)}
    logger.info("fine-tune job %s: %s%s", job.job_key, job.status,
                f" -> {job.fine_tuned_model}" if job.fine_tuned_model else "")
    return {"provider": job.provider, "base_model": job.base_model, "export_id": job.export_id,
            "job_key": job.job_key, "status": job.status,
            "fine_tuned_model": job.fine_tuned_model, "error": job.error}
