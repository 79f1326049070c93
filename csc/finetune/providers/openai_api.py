"""The OpenAI-compatible fine-tuning API as a csc.finetune.jobs.Provider, through the openai
SDK: files.create, fine_tuning.jobs.create / list / retrieve / list_events / cancel.

The endpoint and key are the LLM endpoint's (CSC_LLM_BASE_URL, CSC_LLM_API_KEY; `simulator`
starts the offline simulator, whose jobs are not trainings). The key stays in the SDK client:
every message this module passes on is scrubbed of it, since some providers quote part of a
refused key back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import openai

from csc.finetune.jobs import (
    ExportRef,
    JobState,
    NotTrainable,
    ProviderRefused,
    ProviderUnavailable,
)

NAME = "openai"
KEY_TAG = "csc_job_key"  # the metadata that ties a provider job to its finetune.jobs row
SPLITS = {"train": "openai.train.jsonl", "validation": "openai.validation.jsonl"}
_T = TypeVar("_T")

# Not about this job: the rerun may get through. Every other 4xx refuses the job itself.
_TRANSIENT = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError,
              openai.AuthenticationError, openai.PermissionDeniedError)


def redact(text: str, secret: str) -> str:
    """`text` without the secret, nor any 8-character piece of it."""
    if not secret:
        return text
    text = text.replace(secret, "[redacted]")
    for i in range(len(secret) - 7):
        piece = secret[i:i + 8]
        if piece in text:
            text = text.replace(piece, "[redacted]")
    return text


def _message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        said = body["message"]
    else:
        said = exc.message
    status = getattr(exc, "status_code", None)
    return f"{status}: {said}" if status else said


class OpenAIProvider:
    """Fine-tuning at an OpenAI-compatible endpoint. `simulated` is True when the endpoint is
    the offline simulator: its fine-tuned models are stand-ins, never a training's result."""

    name = NAME

    def __init__(self, base_url: str, api_key: str, *, simulated: bool = False,
                 timeout_s: float = 60.0, max_retries: int = 2) -> None:
        self.base_url = base_url
        self.simulated = simulated
        self._key = api_key
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s,
                                     max_retries=max_retries)

    def __repr__(self) -> str:  # never the key
        return f"OpenAIProvider({self.base_url!r}, simulated={self.simulated})"

    @classmethod
    def from_settings(cls) -> OpenAIProvider:
        """The LLM endpoint's URL and key; LLMNotConfigured (exit 2) when they are not set."""
        from csc.llm.endpoint import resolve
        from csc.llm.settings import load_settings

        settings = resolve(load_settings(roles=()))
        return cls(settings.base_url, settings.api_key, simulated=settings.uses_simulator)

    def _call(self, what: str, call: Callable[[], _T]) -> _T:
        """Run one SDK call; its failure as ProviderRefused or ProviderUnavailable, the key
        scrubbed from the message."""
        try:
            return call()
        except _TRANSIENT as exc:
            raise ProviderUnavailable(redact(
                f"{what} at {self.base_url} failed: {_message(exc)}", self._key)) from None
        except openai.APIError as exc:
            raise ProviderRefused(redact(
                f"{what} refused by {self.base_url}: {_message(exc)}", self._key)) from None

    def training_files(self, export: ExportRef) -> dict[str, Path]:
        found = {split: export.path / name for split, name in SPLITS.items()
                 if (export.path / name).is_file()}
        if "train" not in found:
            raise NotTrainable(
                f"export {export.export_id} has no {SPLITS['train']} in {export.path}: make one "
                "with `csc export sft --format openai` (or all)")
        return found

    def upload(self, split: str, path: Path) -> str:
        def send() -> Any:
            with path.open("rb") as fh:
                return self._client.files.create(file=(path.name, fh), purpose="fine-tune")
        return self._call(f"uploading {path.name}", send).id

    def start(self, base_model: str, file_ids: Mapping[str, str], job_key: str,
              suffix: str | None) -> str:
        extra: dict[str, Any] = {"suffix": suffix} if suffix else {}
        if "validation" in file_ids:
            extra["validation_file"] = file_ids["validation"]
        job = self._call("creating the fine-tuning job", lambda: self._client.fine_tuning.jobs
                         .create(model=base_model, training_file=file_ids["train"],
                                 metadata={KEY_TAG: job_key}, **extra))
        return job.id

    def find(self, job_key: str) -> str | None:
        page = self._call("listing fine-tuning jobs", lambda: self._client.fine_tuning.jobs
                          .list(metadata={KEY_TAG: job_key}, limit=100))
        for job in page.data:  # checked here too: a compatible server may ignore the filter
            if (job.metadata or {}).get(KEY_TAG) == job_key:
                return job.id
        return None

    def poll(self, job_id: str) -> JobState:
        jobs = self._client.fine_tuning.jobs
        job = self._call(f"reading job {job_id}", lambda: jobs.retrieve(job_id))
        events = self._call(f"reading the events of job {job_id}",
                            lambda: jobs.list_events(job_id, limit=1))
        latest = events.data[0].message if events.data else None
        error = job.error.message if job.error is not None and job.error.message else None
        return JobState(job.status, job.fine_tuned_model,
                        redact(error, self._key) if error else None,
                        redact(latest, self._key) if latest else None)

    def cancel(self, job_id: str) -> None:
        self._call(f"cancelling job {job_id}",
                   lambda: self._client.fine_tuning.jobs.cancel(job_id))
