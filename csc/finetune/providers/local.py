"""The local provider: trains the evaluation's learnt baseline (strategy classifier plus
retrieval responder, csc.eval.baselines.Classifier) from an export's OpenAI training file, on
this machine's CPU, in seconds. It is what the offline nightly and `make demo` train, so the
train -> evaluate loop runs end to end without a GPU or an endpoint.

It keeps the job shape of a remote provider (csc.finetune.jobs): "uploading" records the
file's SHA-256, "starting" trains and writes a manifest under the export's folder, and a poll
reads that manifest. What it registers is the manifest: the model is rebuilt from the training
file the manifest names (and whose hash it checks) when it is evaluated, since the fit is
deterministic and a pickled scikit-learn model would not outlive a library upgrade.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from csc.eval.baselines import Classifier
from csc.eval.context import EvalDialogue, EvalTurn
from csc.finetune.formats import opening, read_target, system_prompt
from csc.finetune.jobs import ExportRef, JobState, NotTrainable, ProviderRefused
from csc.language import detect

NAME = "local"
TRAIN_FILE = "openai.train.jsonl"
DEFAULT_BASE = "retrieval-tfidf"  # the registry's retrieval baseline: the classifier's base


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _language(system: str) -> str:
    for language in ("zh", "en"):
        if system == system_prompt(language):
            return language
    return detect(system)


def read_dialogues(path: Path, tag: str) -> list[EvalDialogue]:
    """The dialogues of an OpenAI chat training file, as the evaluation's baselines read them.
    Ids are `<tag>:<line>` (the file carries none), so they sort in file order. ValueError
    names the line that is not an example."""
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        try:
            messages = json.loads(line)["messages"]
            system = next((m["content"] for m in messages if m["role"] == "system"), "")
            language = _language(system)
            turns: list[EvalTurn] = []
            for m in messages:
                if m["role"] == "assistant":
                    sid, reply = read_target(m["content"])
                    turns.append(EvalTurn(len(turns), "supporter", sid, reply))
                elif m["role"] == "user" and not (not turns and m["content"] == opening(language)):
                    turns.append(EvalTurn(len(turns), "customer", None, m["content"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path.name} line {n} is not a chat example: {exc}") from None
        found.append(EvalDialogue(f"{tag}:{n:07d}", language, tuple(turns)))
    return found


def model_name(base_model: str, export_id: str) -> str:
    """The registry name of what a job trains: its base, then what made it."""
    return f"{base_model}+local-ft-{export_id[:8]}"


class LocalProvider:
    """A csc.finetune.jobs.Provider that trains on this machine (see the module docstring)."""

    name = NAME

    def __init__(self) -> None:
        self._export: ExportRef | None = None  # set by training_files, which run_job calls first

    def training_files(self, export: ExportRef) -> dict[str, Path]:
        train = export.path / TRAIN_FILE
        if not train.is_file():
            raise NotTrainable(f"export {export.export_id} has no {TRAIN_FILE} (the local "
                               "provider trains on the OpenAI format): export it with "
                               "`csc export sft --format openai` or `all`")
        self._export = export
        return {"train": train}

    def upload(self, split: str, path: Path) -> str:
        return f"local-{split}-{_sha256(path)[:16]}"

    def _manifest(self, job_key: str) -> Path | None:
        if self._export is None:
            return None
        manifest = self._export.path / NAME / f"{job_key}.json"
        return manifest if manifest.is_file() else None

    def start(self, base_model: str, file_ids: Mapping[str, str], job_key: str,
              suffix: str | None) -> str:
        export = self._export
        if export is None:
            raise ProviderRefused("no export was named before the job was started")
        train = export.path / TRAIN_FILE
        if file_ids.get("train") != self.upload("train", train):
            raise ProviderRefused(f"{TRAIN_FILE} changed since it was recorded for this job")
        try:
            dialogues = read_dialogues(train, export.export_id)
            Classifier(dialogues)
        except ValueError as exc:
            raise ProviderRefused(f"cannot train on {TRAIN_FILE}: {exc}") from None
        turns = sum(1 for d in dialogues for t in d.turns if t.speaker == "supporter")
        if not turns:
            raise ProviderRefused(f"{TRAIN_FILE} holds no supporter turn to learn from")
        manifest = export.path / NAME / f"{job_key}.json"
        manifest.parent.mkdir(exist_ok=True)
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps({
            "model": model_name(base_model, export.export_id), "baseline": "classifier",
            "base": base_model, "export_id": export.export_id, "train_file": TRAIN_FILE,
            "train_sha256": _sha256(train), "dialogues": len(dialogues),
            "supporter_turns": turns}, indent=1), encoding="utf-8")
        tmp.replace(manifest)  # the job exists whole or not at all
        return f"local-{job_key}"

    def find(self, job_key: str) -> str | None:
        return f"local-{job_key}" if self._manifest(job_key) else None

    def poll(self, job_id: str) -> JobState:
        manifest = self._manifest(job_id.removeprefix("local-"))
        if manifest is None:
            return JobState("failed", error="the local model's manifest is gone")
        done = json.loads(manifest.read_text(encoding="utf-8"))
        return JobState("succeeded", fine_tuned_model=done["model"],
                        detail=f"trained on {done['dialogues']} dialogues, "
                               f"{done['supporter_turns']} supporter turns")

    def cancel(self, job_id: str) -> None:
        """Training ends inside `start`: there is nothing running to stop."""
