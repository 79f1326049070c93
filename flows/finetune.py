"""Stage 4: fine-tune triggers. When enough new accepted RoleCS dialogues exist (or when
forced), export the training set; then train the newest export at the configured provider
(CSC_FINETUNE_PROVIDER: local by default, on this machine's CPU). The evaluation that follows
adds every model a job produced to its leaderboard, next to its base."""

from __future__ import annotations

from prefect import flow

from csc.settings import current
from tasks.finetune import export_if_due, train_newest
from tasks.runs import refuses_bad_config, run_ledger


@flow(name="finetune", log_prints=True)
@refuses_bad_config
def finetune(force: bool = False, provider: str | None = None,
             base_model: str | None = None) -> dict:
    """`force` exports even under CSC_FINETUNE_MIN_NEW_DIALOGUES (an unchanged set is still
    never exported twice); `provider` and `base_model` override CSC_FINETUNE_PROVIDER and
    CSC_FINETUNE_BASE_MODEL ('off': export only)."""
    chosen = (provider or current().finetune_provider).lower()
    base = base_model or current().finetune_base_model
    params = {"force": force, "provider": chosen, "base_model": base}
    with run_ledger("finetune", params) as run:
        summary = {"export": export_if_due(force, run["run_id"])}
        summary["job"] = (train_newest(chosen, base) if chosen != "off"
                          else {"skipped": "CSC_FINETUNE_PROVIDER=off"})
        run["summary"] = summary
    return run["summary"]
