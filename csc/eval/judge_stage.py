"""What the two LLM judges of a model's predictions (issue 14, beyond the paper) share: the
item, a turn's verdict, and the stage they both are. The turn judge (csc/eval/judge_turns.py)
scores each supporter turn; the pairwise judge (csc/eval/judge_pairwise.py) compares it with a
reference model's reply for the same turn.

Both are stages on the kit. An item is one CSConv dialogue with predictions under the judged
run (the newest run of the model and setting: `eval_store.judged_run`); its outcome is a
verdict for every predicted turn, written together. The judge's version (its prompts in both
languages, model, generation parameters and endpoint) is in every row's key, so a rerun with
the same judge asks nothing and a changed judge judges again beside the old rows.

A turn the model could not answer (parse_status 'failed') is recorded as not judged; an
unreadable judge answer after the re-asks is a recorded judge failure for that turn; an
endpoint failure abandons the dialogue for the next run, as in csc/eval/predict.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb

from csc.eval.context import Abandoned, EvalDialogue, EvalTurn, Outcome, Prediction
from csc.eval.predict import dialogues_from
from csc.framework import strategy_label
from csc.kit.stage import LANGUAGES, LLMStage
from csc.llm.settings import LLMSettings
from csc.prompts import load_prompt
from csc.settings import current
from schemas.llm import InputTurn, Role
from warehouse import eval_store

# ---- what a judge is shown --------------------------------------------------------------

def input_turns(history: Sequence[EvalTurn], language: str) -> list[InputTurn]:
    """The history as a prompt shows it: supporter turns with their strategy's label."""
    return [InputTurn(speaker=t.speaker, text=t.text,
                      strategy=strategy_label(t.strategy_id, language)
                      if t.strategy_id is not None else None) for t in history]


@dataclass(frozen=True)
class JudgeItem:
    """A dialogue, the judged run's predictions by turn and, for the pairwise judge, the
    reference run's."""

    dialogue: EvalDialogue
    run_key: str
    predictions: dict[int, Prediction]
    reference_run_key: str | None = None
    reference: dict[int, Prediction] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """One turn's row, as the stage's table has it (without keys and stamps)."""

    utt_index: int
    status: str
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


Judged = Outcome[JudgeItem, Verdict]


def _predictions(rows: list[eval_store.JudgedPrediction]) -> dict[str, dict[int, Prediction]]:
    out: dict[str, dict[int, Prediction]] = {}
    for cid, idx, sid, text, status, error in rows:
        out.setdefault(cid, {})[idx] = Prediction(idx, sid, text, status, error)
    return out


# ---- the stage both judges are -----------------------------------------------------------

class JudgeStage(LLMStage[JudgeItem, Judged]):
    """What both judges share: the judged run's lookup, the version, loading, and asking every
    turn of a dialogue at once. A subclass says which turns, and how one is judged."""

    role: ClassVar[Role]
    compares: ClassVar[bool] = False  # loads the reference run's predictions too

    def __init__(self, settings: LLMSettings, model: str, setting: str) -> None:
        super().__init__(settings)
        self.model, self.setting = model, setting
        self.reference_model = current().eval_reference_model
        self._version: str | None = None
        self._runs: tuple[str | None, str | None] | None = None

    @property
    def key(self) -> str:
        return f"{self.name}-{self.model}-{self.setting}"

    def version(self, language: str) -> str:
        """The same for both languages: the judge's prompts, model, parameters, endpoint."""
        if self._version is None:
            role = self.settings.role(self.role)
            blob = json.dumps([self.role.value,
                               [load_prompt(self.role, lang).version for lang in LANGUAGES],
                               role.model, role.temperature, role.max_tokens,
                               self.settings.endpoint_identity])
            self._version = "judge-" + hashlib.sha256(blob.encode()).hexdigest()[:16]
        return self._version

    def runs(self, con: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
        """(the judged run, the reference run) of the model and setting; None when absent."""
        if self._runs is None:
            ref = eval_store.judged_run(con, self.reference_model, self.setting) \
                if self.compares else None
            self._runs = (eval_store.judged_run(con, self.model, self.setting), ref)
        return self._runs

    def load(self, con: duckdb.DuckDBPyConnection, language: str,
             ids: Sequence[str]) -> list[JudgeItem]:
        run, ref = self.runs(con)
        if run is None:
            return []
        preds = _predictions(eval_store.judge_predictions(con, run, list(ids)))
        refs = _predictions(eval_store.judge_predictions(con, ref, list(ids))) if ref else {}
        return [JudgeItem(d, run, preds.get(d.dialogue_id, {}), ref,
                          refs.get(d.dialogue_id, {}))
                for d in dialogues_from(eval_store.dialogue_turns(con, list(ids)))]

    async def histories(self, item: JudgeItem) -> dict[int, list[EvalTurn]]:
        """The history before each judged turn (see the subclasses)."""
        raise NotImplementedError

    async def judge(self, gw: Any, item: JudgeItem, utt_index: int,
                    history: list[EvalTurn]) -> Verdict:
        raise NotImplementedError

    async def process(self, gw: Any, item: JudgeItem) -> Judged:
        turns = await self.histories(item)
        done = await asyncio.gather(*(self.judge(gw, item, i, h) for i, h in turns.items()),
                                    return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, Abandoned):
                return Judged(item, status=outcome.kind, error=str(outcome))
            if isinstance(outcome, BaseException):
                raise outcome
        return Judged(item, list(done))  # type: ignore[arg-type]

    async def ask(self, gw: Any, item: JudgeItem, utt_index: int, payload: Any
                  ) -> Any | str:
        """The judge's answer, or the error of an unusable one (a recorded judge failure);
        raises Abandoned when the endpoint failed (the dialogue is judged next run)."""
        d = item.dialogue
        answer = await gw.ask(self.role, payload, d.language,
                              f"{item.run_key}:{d.dialogue_id}#{utt_index}")
        if hasattr(answer, "value"):
            return answer.value
        if answer.unusable:
            return answer.error or "the judge's answer could not be read"
        raise Abandoned(answer.kind, answer.error)

    def base_row(self, o: Judged, v: Verdict, version: str) -> dict:
        return {"run_key": o.item.run_key, "csconv_id": o.item.dialogue.dialogue_id,
                "utt_index": v.utt_index, "judge_version": version, **v.values,
                "status": v.status, "error": v.error}
