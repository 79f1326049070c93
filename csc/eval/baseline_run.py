"""Running an offline baseline over the current CSConv set: no LLM, same tables and settings.

Incremental like the LLM runs: only dialogues without predictions under the run are
predicted, in chunks committed as they finish, so a crash loses at most one chunk and the
rerun finishes the rest. A new training set (more accepted RoleCS dialogues) is a new run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

from csc.eval.baselines import NoTrainingData, build, training_fingerprint
from csc.eval.context import EvalDialogue, EvalTurn, Prediction, predict_dialogue
from csc.eval.predict import dialogues_from, prediction_rows, run_key, run_row
from csc.eval.registry import ModelEntry
from csc.finetune.providers.local import TRAIN_FILE, read_dialogues
from csc.kit.stage import LANGUAGES
from csc.progress import BatchProgress, ProgressHook
from warehouse import eval_store
from warehouse.db import connect

log = logging.getLogger(__name__)
CHUNK = 200  # dialogues per commit


def run_baseline(entry: ModelEntry, setting: str, *, db: Path | None = None,
                 limit: int | None = None, hooks: Iterable[ProgressHook] = ()) -> dict:
    """Predict the pending dialogues; counts (input = predicted), or why it could not run.
    `hooks` are told the progress (dialogues done of pending, rate, ETA)."""
    assert entry.baseline is not None
    try:
        training = _training(entry, db)
    except (OSError, ValueError) as exc:  # a fine-tune export moved away or damaged
        return {"model": entry.name, "setting": setting, "input": 0, "predicted": 0,
                "skipped": f"cannot read what {entry.name} learns from: {exc}"}
    if not training:
        return {"model": entry.name, "setting": setting, "input": 0, "predicted": 0,
                "skipped": "no accepted RoleCS dialogue to learn from yet (run rolecs first)"}
    key = run_key(entry, setting, [training_fingerprint(training), entry.baseline])
    predicted = turns = 0
    skipped: list[str] = []
    with connect(db) as con:
        pending = {lang: eval_store.pending(con, lang, key, limit) for lang in LANGUAGES}
        if not any(pending.values()):  # a night with nothing new: no model is trained
            return {"model": entry.name, "setting": setting, "run_key": key, "input": 0,
                    "predicted": 0, "turns": 0}
        model = build(entry.baseline, training)
        eval_store.ensure_run(con, run_row(key, entry, setting, "baseline", None))
        total = sum(len(ids) for ids in pending.values())
        with BatchProgress(f"{entry.name} ({setting})", total, unit="dialogues",
                           hooks=hooks) as progress:
            for ids in pending.values():
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start:start + CHUNK]
                    dialogues = dialogues_from(eval_store.dialogue_turns(con, chunk))
                    try:
                        rows = [r for d in dialogues
                                for r in prediction_rows(key, d, _predict(model, d, setting))]
                    except NoTrainingData as exc:
                        skipped.append(str(exc))
                        progress.advance(len(ids) - start)  # the rest of this language
                        break
                    eval_store.write_predictions(con, rows)
                    predicted += len(dialogues)
                    turns += len(rows)
                    progress.advance(len(chunk))
    out = {"model": entry.name, "setting": setting, "run_key": key, "input": predicted,
           "predicted": predicted, "turns": turns}
    if skipped:
        out["skipped"] = "; ".join(skipped)
    return out


def _training(entry: ModelEntry, db: Path | None) -> list[EvalDialogue]:
    """What the baseline learns from: the accepted RoleCS set, or for a model fine-tuned
    locally the training file of its export (the same file its job trained on)."""
    if entry.trained_on is not None:
        folder = Path(entry.trained_on)
        return read_dialogues(folder / TRAIN_FILE, folder.name)
    with connect(db) as con:
        return dialogues_from(eval_store.training_turns(con))


def _predict(model, d: EvalDialogue, setting: str) -> list[Prediction]:
    async def ask(dialogue: EvalDialogue, history: list[EvalTurn], utt_index: int) -> Prediction:
        return model.predict(dialogue, history, utt_index)

    return asyncio.run(predict_dialogue(d, setting, ask))
