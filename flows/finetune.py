"""Stage 4: fine-tune triggers. When enough new accepted RoleCS dialogues exist (or when
forced), export the training set; then train the newest export at the configured provider
(CSC_FINETUNE_PROVIDER: local by default, on this machine's CPU); then evaluate the model the
job produced and its base, so the leaderboard shows the two side by side. In the nightly the
evaluation stage that follows does this for every model, so there it is left to that stage."""

from __future__ import annotations

from prefect import flow

from csc.settings import current
from flows.evaluate import evaluate
from tasks.finetune import export_if_due, train_newest
from tasks.runs import refuses_bad_config, run_ledger


@flow(name="finetune", log_prints=True)
@refuses_bad_config
def finetune(force: bool = False, provider: str | None = None,
             base_model: str | None = None, evaluate_after: bool = True) -> dict:
    """`force` exports even under CSC_FINETUNE_MIN_NEW_DIALOGUES (an unchanged set is still
    never exported twice); `provider` and `base_model` override CSC_FINETUNE_PROVIDER and
    CSC_FINETUNE_BASE_MODEL ('off': export only); `evaluate_after` evaluates the trained
    model and its base (incremental: nothing is predicted twice)."""
    chosen = (provider or current().finetune_provider).lower()
    base = base_model or current().finetune_base_model
    params = {"force": force, "provider": chosen, "base_model": base,
              "evaluate_after": evaluate_after}
    with run_ledger("finetune", params) as run:
        summary = {"export": export_if_due(force, run["run_id"])}
        job = (train_newest(chosen, base) if chosen != "off"
               else {"skipped": "CSC_FINETUNE_PROVIDER=off"})
        summary["job"] = job
        if evaluate_after and job.get("status") == "succeeded":
            done = evaluate(models=[job["fine_tuned_model"], job["base_model"]])
            summary["evaluate"] = {"runs": len(done["runs"]), "report": done["report"]}
        run["summary"] = summary
    return run["summary"]
