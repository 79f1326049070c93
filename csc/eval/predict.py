"""Prediction on the stage kit: a model under evaluation writes the next supporter turn
(strategy and reply) at every supporter turn of the current CSConv set, in one setting.

An item is one CSConv dialogue; its outcome is the predictions of all its supporter turns,
written together, so a dialogue is either predicted whole or pending. A run is one model in
one setting under one version (`run_key`): the model's endpoint name and generation
parameters, the candidate prompts and the setting. New CSConv dialogues are pending under the
same run, so a rerun predicts only what is missing, and an unchanged one asks nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import duckdb

from csc.eval.context import (
    Abandoned,
    EvalDialogue,
    EvalTurn,
    Outcome,
    Prediction,
    predict_dialogue,
)
from csc.eval.registry import ModelEntry, RegistryError, load_registry
from csc.framework import strategy_label
from csc.kit.stage import LANGUAGES, LLMStage
from csc.llm.settings import LLMSettings
from csc.prompts import load_prompt
from csc.settings import current
from schemas.llm import CandidateInput, InputTurn, Role
from warehouse import eval_store
from warehouse.eval_store import TurnRow

DATASET = "csconv"


def dialogues_from(rows: list[TurnRow]) -> list[EvalDialogue]:
    """Dialogues from their turn rows (ordered by dialogue, then turn)."""
    out: list[EvalDialogue] = []
    turns: list[EvalTurn] = []
    for i, (did, lang, idx, speaker, sid, text) in enumerate(rows):
        turns.append(EvalTurn(idx, speaker, sid, text))
        if i + 1 == len(rows) or rows[i + 1][0] != did:
            out.append(EvalDialogue(did, lang, tuple(turns)))
            turns = []
    return out


def run_key(entry: ModelEntry, setting: str, parts: Sequence[str]) -> str:
    """The run's identity: the model as configured, the setting, and `parts` (prompt
    versions and endpoint for a model, the training data for a baseline)."""
    blob = json.dumps([entry.name, entry.params(), setting, list(parts)], sort_keys=True)
    return "eval-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_row(key: str, entry: ModelEntry, setting: str, kind: str,
            prompt_version: str | None) -> dict:
    return {"run_key": key, "model": entry.name, "kind": kind, "setting": setting,
            "dataset": DATASET, "endpoint_model": entry.model,
            "params": json.dumps(entry.params(), sort_keys=True),
            "prompt_version": prompt_version}


def prediction_rows(key: str, d: EvalDialogue, preds: list[Prediction]) -> list[dict]:
    gold = {t.utt_index: t for t in d.turns}
    return [{"run_key": key, "csconv_id": d.dialogue_id, "utt_index": p.utt_index,
             "language": d.language, "gold_strategy": gold[p.utt_index].strategy_id,
             "pred_strategy": p.strategy_id, "gold_text": gold[p.utt_index].text,
             "pred_text": p.text, "parse_status": p.status, "error": p.error}
            for p in preds]


def find_model(name: str, settings: LLMSettings | None) -> ModelEntry:
    entries = load_registry(current().eval_models, settings)
    found = next((e for e in entries if e.name == name), None)
    if found is None:
        raise RegistryError(f"no model named '{name}' in the registry; known: "
                            f"{', '.join(e.name for e in entries)}")
    return found


Predicted = Outcome[EvalDialogue, Prediction]


class PredictionStage(LLMStage[EvalDialogue, Predicted]):
    """One model in one setting over the current CSConv set."""

    name = "evaluate"
    roles = (Role.CANDIDATE,)
    tables = ("eval.runs", "eval.predictions")

    def __init__(self, settings: LLMSettings, model: str, setting: str) -> None:
        self.entry = find_model(model, settings)
        if self.entry.is_baseline:
            raise ValueError(f"'{model}' is a baseline: it runs without an LLM (run_baseline)")
        super().__init__(self.entry.settings_for(settings))
        self.setting = setting
        # a generated-context dialogue is a chain of calls in sequence: keep more alive
        self.items_per_slot = 8 if setting == "generated" else 2
        self._key: str | None = None

    @property
    def key(self) -> str:
        return f"{self.name}-{self.entry.name}-{self.setting}"

    def prompt_version(self) -> str:
        return "|".join(load_prompt(Role.CANDIDATE, lang).version for lang in LANGUAGES)

    def version(self, language: str) -> str:
        """The same for both languages: a run covers the whole set."""
        if self._key is None:
            self._key = run_key(self.entry, self.setting,
                                [self.prompt_version(), self.settings.endpoint_identity])
        return self._key

    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        return eval_store.pending(con, language, version, limit)

    def load(self, con: duckdb.DuckDBPyConnection, language: str,
             ids: Sequence[str]) -> list[EvalDialogue]:
        return dialogues_from(eval_store.dialogue_turns(con, list(ids)))

    async def process(self, gw: Any, item: EvalDialogue) -> Predicted:
        async def ask(d: EvalDialogue, history: list[EvalTurn], utt_index: int) -> Prediction:
            payload = CandidateInput(language=d.language, history=[
                InputTurn(speaker=t.speaker, text=t.text,
                          strategy=strategy_label(t.strategy_id, d.language)
                          if t.strategy_id is not None else None) for t in history])
            answer = await gw.ask(Role.CANDIDATE, payload, d.language,
                                  f"{d.dialogue_id}#{utt_index}")
            if not hasattr(answer, "value"):  # an LLMFailure
                if answer.unusable:  # the model's failure: counted as wrong
                    return Prediction.failed(utt_index, answer.error)
                raise Abandoned(answer.kind, answer.error)
            return Prediction(utt_index, answer.value.strategy_id,
                              answer.value.response.strip())

        try:
            return Predicted(item, await predict_dialogue(item, self.setting, ask))
        except Abandoned as gone:
            return Predicted(item, status=gone.kind, error=str(gone))

    def rows(self, outcomes: list[Predicted], version: str, run_id: str
             ) -> dict[str, list[dict]]:
        done = [o for o in outcomes if o.status == "kept"]
        runs = [run_row(version, self.entry, self.setting, self.entry.kind(self.settings),
                        self.prompt_version())] if done else []
        return {"eval.runs": runs,
                "eval.predictions": [r for o in done
                                     for r in prediction_rows(version, o.item,
                                                              o.results)]}
