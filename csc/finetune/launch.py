"""A fine-tune job run from the settings: the export to train on, the provider, the polling,
and the warehouse as the job store (csc.finetune.jobs holds the job's logic).

The store opens the warehouse for each write and closes it again, so a job that waits for
hours holds no lock on the warehouse meanwhile: other runs write, and a killed waiter leaves
nothing open.
"""

from __future__ import annotations

from pathlib import Path

from csc.finetune.jobs import ExportRef, Job, NotTrainable, Polling, Provider, run_job
from csc.settings import current
from warehouse import finetune_store as store
from warehouse.db import connect

PROVIDERS = ("local", "openai")


class WarehouseJobs:
    """finetune.jobs as a csc.finetune.jobs.JobStore; each call one short connection."""

    def __init__(self, db: Path | None = None) -> None:
        self.db = db

    def get(self, job_key: str) -> Job | None:
        with connect(self.db) as con:
            row = store.job_of(con, job_key)
        return Job.of_row(row) if row else None

    def insert(self, job: Job) -> None:
        with connect(self.db) as con:
            store.insert_job(con, job.row())

    def update(self, job: Job) -> None:
        with connect(self.db) as con:
            store.update_job(con, job.row())


def export_ref(export_id: str | None = None, db: Path | None = None) -> ExportRef:
    """The export with this id, or the newest; NotTrainable when there is none, or when its
    folder is gone."""
    with connect(db) as con:
        if export_id is None:
            found = store.latest_export(con)
            if found is None:
                raise NotTrainable("no fine-tune export yet: make one with `csc export sft`")
            export_id, path = found
        else:
            row = store.export_of(con, export_id)
            if row is None:
                raise NotTrainable(f"no fine-tune export {export_id} in the warehouse "
                                   "(`csc finetune jobs` and finetune.exports list them)")
            path = row[1]
    folder = Path(path)
    if not folder.is_dir():
        raise NotTrainable(f"the folder of export {export_id} is gone ({folder}): export "
                           "again with `csc export sft --force`")
    return ExportRef(export_id, folder)


def settings_polling(timeout_s: float | None = None) -> Polling:
    """The polling from CSC_FINETUNE_POLL_S, _POLL_MAX_S and _TIMEOUT_S (or `timeout_s`)."""
    s = current()
    return Polling(initial_s=s.finetune_poll_s, max_s=s.finetune_poll_max_s,
                   timeout_s=s.finetune_timeout_s if timeout_s is None else timeout_s)


def provider_named(name: str) -> Provider:
    """The provider for `name`, configured from the settings."""
    if name == "local":
        from csc.finetune.providers.local import LocalProvider

        return LocalProvider()
    if name == "openai":
        from csc.finetune.providers.openai_api import OpenAIProvider

        return OpenAIProvider.from_settings()
    raise NotTrainable(f"no fine-tuning provider '{name}'; known: {', '.join(PROVIDERS)}")


def default_base(provider: str) -> str:
    """The model a job fine-tunes when CSC_FINETUNE_BASE_MODEL names none: for the local
    provider the retrieval baseline (the classifier's base); for an API, the endpoint's
    candidate model."""
    if provider == "local":
        from csc.finetune.providers.local import DEFAULT_BASE

        return DEFAULT_BASE
    from csc.llm.settings import load_settings
    from schemas.llm import Role

    return load_settings(roles=(Role.CANDIDATE,)).role(Role.CANDIDATE).model


def train(provider: Provider, base_model: str, *, export_id: str | None = None,
          suffix: str | None = None, timeout_s: float | None = None,
          db: Path | None = None) -> Job:
    """Train `base_model` on the export (default: the newest) at `provider`, or resume or
    return the job that already does: csc.finetune.jobs.run_job over the warehouse."""
    export = export_ref(export_id, db)
    return run_job(WarehouseJobs(db), provider, export, base_model,
                   polling=settings_polling(timeout_s), suffix=suffix)


def jobs(db: Path | None = None) -> list[tuple]:
    """Every recorded job, newest first."""
    with connect(db, read_only=True) as con:
        return store.jobs(con)
