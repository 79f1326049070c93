"""A fine-tune job at a provider: submit -> persist ids -> poll -> record (docs/finetune.md).

A job is not an LLM stage: it asks no role and has no items, so the kit's journal and shards
have nothing to hold. What it needs instead is to survive a crash during a wait that can last
hours, and never to start the same training twice. Hence the order of `run_job`:

1. the `finetune.jobs` row is written before anything is uploaded;
2. each provider file id is stored the moment it comes back, then the job id, before any wait;
3. the job is polled with exponential back-off under an overall timeout, every status change
   appended to the row's history;
4. the outcome (the fine-tuned model, or the provider's error, or the timeout after cancelling
   the job) is recorded, and a finished job is never touched again.

A rerun that finds the row resumes from what it holds: files already uploaded are not uploaded
again, a job already created is polled, not created. The one gap, a crash after the provider
created the job but before its id was stored, is closed by `Provider.find` (the job carries its
key as metadata). No secret passes through here: the provider holds its key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from csc.errors import RuntimeFailure, UserError

log = logging.getLogger(__name__)

# Our own steps, then the statuses an OpenAI-compatible provider reports.
CREATED, UPLOADED, SUBMITTED = "created", "uploaded", "submitted"
SUCCEEDED, FAILED, CANCELLED, TIMED_OUT = "succeeded", "failed", "cancelled", "timed_out"
WAITING = ("validating_files", "queued", "running")
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT})


class ProviderRefused(RuntimeFailure):
    """The provider said no to this job (an invalid file, an unknown base model): the job is
    recorded as failed with the provider's message, and a rerun does not try it again."""


class ProviderUnavailable(RuntimeFailure):
    """The provider could not be asked now (no connection, a server error, rate limits, a key
    it refuses): nothing is recorded as failed, and a rerun resumes the job."""


class NotTrainable(UserError):
    """The export cannot be trained on by this provider: unknown, or without its files."""


@dataclass(frozen=True)
class ExportRef:
    """An export to train on: its id and its folder (docs/finetune.md, "The folder")."""

    export_id: str
    path: Path


@dataclass(frozen=True)
class JobState:
    """What the provider says of a job at one poll."""

    status: str  # validating_files | queued | running | succeeded | failed | cancelled
    fine_tuned_model: str | None = None
    error: str | None = None  # the provider's message, for a failed job
    detail: str | None = None  # its latest event message, if it keeps events


class Provider(Protocol):
    """A fine-tuning service. Each call is one request; a refusal of this job raises
    ProviderRefused, a failure to reach the provider ProviderUnavailable."""

    name: str

    def training_files(self, export: ExportRef) -> dict[str, Path]:
        """The export's files this provider trains on, by split ('train' first); NotTrainable
        when the export lacks them."""
        ...

    def upload(self, split: str, path: Path) -> str:
        """Upload one file; its provider id."""
        ...

    def start(self, base_model: str, file_ids: Mapping[str, str], job_key: str,
              suffix: str | None) -> str:
        """Create the job on the uploaded files, tagged with `job_key`; its provider id."""
        ...

    def find(self, job_key: str) -> str | None:
        """The id of a job created earlier under `job_key` (its id lost to a crash), or None."""
        ...

    def poll(self, job_id: str) -> JobState:
        """The job's state now."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the provider to stop the job."""
        ...


@dataclass(frozen=True)
class Polling:
    """How a job is waited for: the first pause, doubled after every poll up to the longest,
    and the most this call waits in all before it cancels the job."""

    initial_s: float = 10.0
    max_s: float = 300.0
    timeout_s: float = 6 * 3600.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.initial_s <= self.max_s and self.timeout_s > 0 and self.factor >= 1):
            raise ValueError(f"unusable polling {self}")


@dataclass(frozen=True)
class Job:
    """One finetune.jobs row."""

    job_key: str
    provider: str
    base_model: str
    export_id: str
    status: str
    history: tuple[dict, ...]
    started_at: datetime
    updated_at: datetime
    file_ids: dict[str, str] = field(default_factory=dict)
    provider_job_id: str | None = None
    fine_tuned_model: str | None = None
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def moved(self, status: str, now: datetime, detail: str | None = None, **changes) -> Job:
        """This job with `status` appended to its history (and other columns changed)."""
        entry = {"status": status, "at": now.isoformat(), "detail": detail}
        return replace(self, status=status, history=(*self.history, entry), updated_at=now,
                       **changes)

    def row(self) -> dict:
        return {"job_key": self.job_key, "provider": self.provider,
                "base_model": self.base_model, "export_id": self.export_id,
                "status": self.status,
                "status_history": json.dumps(list(self.history), ensure_ascii=False),
                "provider_file_ids": json.dumps(self.file_ids) if self.file_ids else None,
                "provider_job_id": self.provider_job_id,
                "fine_tuned_model": self.fine_tuned_model, "error": self.error,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "updated_at": self.updated_at}

    @classmethod
    def of_row(cls, row: Mapping) -> Job:
        return cls(job_key=row["job_key"], provider=row["provider"],
                   base_model=row["base_model"], export_id=row["export_id"],
                   status=row["status"], history=tuple(json.loads(row["status_history"])),
                   file_ids=json.loads(row["provider_file_ids"] or "{}"),
                   provider_job_id=row["provider_job_id"],
                   fine_tuned_model=row["fine_tuned_model"], error=row["error"],
                   started_at=row["started_at"], finished_at=row["finished_at"],
                   updated_at=row["updated_at"])


class JobStore(Protocol):
    """Where jobs are kept (the warehouse: csc.finetune.launch.WarehouseJobs). Each call is
    durable when it returns."""

    def get(self, job_key: str) -> Job | None: ...

    def insert(self, job: Job) -> None: ...

    def update(self, job: Job) -> None: ...


def job_key(provider: str, base_model: str, export_id: str) -> str:
    """One job per (provider, base model, export): the first 16 hex of a SHA-256 of the three."""
    blob = json.dumps([provider, base_model, export_id])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # the warehouse's TIMESTAMPs are naive UTC


@dataclass
class _Run:
    """One call of run_job: the store, the provider, and the job as last stored."""

    store: JobStore
    provider: Provider
    job: Job
    now: Callable[[], datetime]

    def save(self, status: str | None = None, detail: str | None = None, **changes) -> None:
        """Store the job, with a new status appended to its history when one is given."""
        if status is None:
            self.job = replace(self.job, updated_at=self.now(), **changes)
        else:
            self.job = self.job.moved(status, self.now(), detail, **changes)
            log.info("fine-tune job %s (%s %s): %s%s", self.job.job_key, self.provider.name,
                     self.job.base_model, status, f": {detail}" if detail else "")
        self.store.update(self.job)

    def finish(self, status: str, detail: str | None, **changes) -> Job:
        self.save(status, detail, finished_at=self.now(), **changes)
        return self.job


def run_job(store: JobStore, provider: Provider, export: ExportRef, base_model: str, *,
            polling: Polling = Polling(), suffix: str | None = None,
            sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic,
            now: Callable[[], datetime] = _now) -> Job:
    """Train `base_model` on `export` at `provider`, or resume the job that already does, and
    return the job as recorded. A finished job is returned as it is, with no provider call.
    Returns within `polling.timeout_s` of waiting (plus one request): a job still unfinished
    then is cancelled and recorded as timed out. Raises ProviderUnavailable (the row kept for
    a rerun) when the provider cannot be reached before the job is created."""
    key = job_key(provider.name, base_model, export.export_id)
    job = store.get(key)
    if job is not None and job.finished:
        log.info("fine-tune job %s is %s already; nothing to do", key, job.status)
        return job
    if job is None:
        files = provider.training_files(export)  # NotTrainable before any row is written
        at = now()
        job = Job(key, provider.name, base_model, export.export_id, CREATED,
                  ({"status": CREATED, "at": at.isoformat(), "detail": None},), at, at)
        store.insert(job)
        job = store.get(key) or job  # another process may have written it first
    else:
        files = provider.training_files(export)
        log.info("fine-tune job %s resumed at %s", key, job.status)
    run = _Run(store, provider, job, now)
    try:
        _submit(run, files, suffix)
        return _wait(run, polling, sleep, clock)
    except ProviderRefused as exc:  # this job is refused: recorded, never tried again
        return run.finish(FAILED, str(exc), error=str(exc))


def _submit(run: _Run, files: Mapping[str, Path], suffix: str | None) -> None:
    """Upload what is not uploaded, then create the job unless it exists; every id stored as
    soon as it comes back."""
    job = run.job
    if job.provider_job_id is not None:
        return
    for split, path in files.items():
        if split not in run.job.file_ids:
            file_id = run.provider.upload(split, path)
            run.save(file_ids={**run.job.file_ids, split: file_id})
    if run.job.status == CREATED:
        run.save(UPLOADED, ", ".join(f"{s} {i}" for s, i in run.job.file_ids.items()))
    found = run.provider.find(job.job_key) if job.status != CREATED else None
    job_id = found or run.provider.start(job.base_model, run.job.file_ids, job.job_key, suffix)
    run.save(SUBMITTED, f"job {job_id}" + (" (found at the provider)" if found else ""),
             provider_job_id=job_id)


def _wait(run: _Run, polling: Polling, sleep: Callable[[float], None],
          clock: Callable[[], float]) -> Job:
    """Poll until the job ends or the time is up; record each status change and the end."""
    job_id = run.job.provider_job_id
    assert job_id is not None
    deadline = clock() + polling.timeout_s
    pause = polling.initial_s
    while True:
        try:
            state = run.provider.poll(job_id)
        except ProviderUnavailable as exc:  # a blip: the next poll may get through
            log.warning("fine-tune job %s: polling failed, will retry: %s", run.job.job_key, exc)
            state = None
        if state is not None:
            if state.status == SUCCEEDED:
                return run.finish(SUCCEEDED, state.detail,
                                  fine_tuned_model=state.fine_tuned_model)
            if state.status in (FAILED, CANCELLED):
                error = (state.error or state.detail
                         or f"the provider reports the job {state.status}")
                return run.finish(state.status, error, error=error)
            if state.status != run.job.status:
                run.save(state.status, state.detail)
        left = deadline - clock()
        if left <= 0:
            return _time_out(run, polling.timeout_s)
        sleep(min(pause, left))
        pause = min(pause * polling.factor, polling.max_s)


def _time_out(run: _Run, waited_s: float) -> Job:
    """Cancel the job at the provider (a failure to do so is said, not raised) and record it."""
    job_id = run.job.provider_job_id
    assert job_id is not None
    try:
        run.provider.cancel(job_id)
        cancelled = "cancelled at the provider"
    except (ProviderRefused, ProviderUnavailable) as exc:
        cancelled = f"cancelling it failed: {exc}"
    error = f"no result after {waited_s:g} s of waiting; {cancelled}"
    return run.finish(TIMED_OUT, error, error=error)
