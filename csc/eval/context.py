"""The two evaluation settings of csc-method §5, for every predictor (an LLM or a baseline).

At each supporter turn of a dialogue a predictor sees the conversation before it:

- reference context: the gold history, so every turn is predicted independently (and
  concurrently);
- generated context: customer turns stay gold, but each earlier supporter turn is the
  predictor's own strategy and reply, so the turns are predicted in order. A turn the
  predictor failed on stays in its history as an empty reply with no strategy: the gold turn
  would leak the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

SETTINGS = ("reference", "generated")


@dataclass(frozen=True)
class EvalTurn:
    utt_index: int
    speaker: str  # customer | supporter
    strategy_id: int | None  # 1-12 on supporter turns
    text: str


@dataclass(frozen=True)
class EvalDialogue:
    """One dialogue of the evaluated set (a CSConv dialogue)."""

    dialogue_id: str
    language: str
    turns: tuple[EvalTurn, ...]

    @property
    def targets(self) -> list[int]:
        """Positions of the supporter turns with a gold strategy: what is predicted."""
        return [i for i, t in enumerate(self.turns)
                if t.speaker == "supporter" and t.strategy_id is not None]


@dataclass(frozen=True)
class Prediction:
    """A predictor's answer at one supporter turn. status 'failed': no readable answer (the
    metrics count it wrong); strategy_id and text are then None."""

    utt_index: int
    strategy_id: int | None
    text: str | None
    status: str = "ok"
    error: str | None = None

    @classmethod
    def failed(cls, utt_index: int, error: str) -> Prediction:
        return cls(utt_index, None, None, "failed", error)


Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class Outcome(Generic[Item, Result]):
    """A dialogue-sized item's outcome in an evaluation stage (predicting, judging): its
    results per turn ('kept'), or abandoned ('dead'/'deferred', tried again next run)."""

    item: Item
    results: list[Result] = field(default_factory=list)
    status: str = "kept"
    error: str | None = None


class Abandoned(Exception):
    """The endpoint, not the model, failed at a turn (dead-lettered call, budget): the
    dialogue is predicted again next run, so none of its turns is stored now."""

    def __init__(self, kind: str, error: str) -> None:
        super().__init__(error)
        self.kind = kind  # dead | deferred


# What a predictor is asked: the dialogue, and the history before the turn to predict.
Predict = Callable[[EvalDialogue, list[EvalTurn], int], Awaitable[Prediction]]


async def predict_dialogue(d: EvalDialogue, setting: str, predict: Predict) -> list[Prediction]:
    """Every target turn of `d`, predicted in `setting`; raises Abandoned when the endpoint
    fails (then nothing of the dialogue is kept)."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}: use one of {', '.join(SETTINGS)}")
    targets = d.targets
    if setting == "reference":
        return list(await asyncio.gather(
            *(predict(d, list(d.turns[:i]), d.turns[i].utt_index) for i in targets)))
    history: list[EvalTurn] = []
    out: list[Prediction] = []
    done = 0
    for i in targets:
        history.extend(d.turns[done:i])  # gold: the customer's turns since the last target
        p = await predict(d, list(history), d.turns[i].utt_index)
        out.append(p)
        # the predictor's own turn, not the gold one, is what the next turns see
        history.append(EvalTurn(d.turns[i].utt_index, "supporter", p.strategy_id, p.text or ""))
        done = i + 1
    return out
