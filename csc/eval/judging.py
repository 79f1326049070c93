"""LLM judges of a model's predictions (issue 14, beyond the paper): scores per supporter
turn, and a pairwise comparison with a reference model's reply for the same turn.

Both are stages on the kit. An item is one CSConv dialogue with predictions under the judged
run (the newest run of the model and setting: `eval_store.judged_run`); its outcome is a
verdict for every predicted turn, written together. The judge's version (its prompts in both
languages, model, generation parameters and endpoint) is in every row's key, so a rerun with
the same judge asks nothing and a changed judge judges again beside the old rows.

A turn the model could not answer (parse_status 'failed') is recorded as not judged; an
unreadable judge answer after the re-asks is a recorded judge failure for that turn; an
endpoint failure abandons the dialogue for the next run, as in csc/eval/predict.py.

The metrics of the judgements (`judge_metrics`) are pure functions, read by
csc/eval/service.py; definitions in docs/metrics.md ("LLM-judge scores and win rate").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb
import numpy as np
import polars as pl

from csc.eval.bootstrap import draw_counts, percentile_interval, ratio
from csc.eval.context import (
    Abandoned,
    EvalDialogue,
    EvalTurn,
    Outcome,
    Prediction,
    predict_dialogue,
)
from csc.eval.predict import dialogues_from
from csc.eval.types import NOT_COMPUTED, MetricValue
from csc.framework import strategy_label
from csc.kit.stage import LANGUAGES, LLMStage
from csc.llm.settings import LLMSettings
from csc.prompts import load_prompt
from csc.settings import current
from schemas.llm import InputTurn, PairwiseInput, Role, TurnJudgeInput
from warehouse import eval_store

SCORES = ("resolution", "empathy", "appropriateness")
JUDGE_METRICS = (*(f"judge_{s}" for s in SCORES), "win_rate")


# ---- what a judge is shown --------------------------------------------------------------

def input_turns(history: Sequence[EvalTurn], language: str) -> list[InputTurn]:
    """The history as a prompt shows it: supporter turns with their strategy's label."""
    return [InputTurn(speaker=t.speaker, text=t.text,
                      strategy=strategy_label(t.strategy_id, language)
                      if t.strategy_id is not None else None) for t in history]


def shown_first(csconv_id: str, utt_index: int) -> str:
    """Whose reply the pairwise judge sees as "A": 'model' or 'reference', by a hash of the
    turn, so over a run each side is first about half the time and a judge's liking for the
    first (or second) position cancels; the same turn is always shown the same way."""
    digest = hashlib.sha256(f"{csconv_id}\x1f{utt_index}".encode()).digest()
    return "model" if digest[0] % 2 == 0 else "reference"


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


# ---- the stages ---------------------------------------------------------------------------

class _JudgeStage(LLMStage[JudgeItem, Judged]):
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


class TurnJudgeStage(_JudgeStage):
    """Scores 1-5 of every predicted turn of one model's run in one setting: resolution,
    empathy, strategy appropriateness, and a reason."""

    name = "judge-turns"
    roles = (Role.TURN_JUDGE,)
    role = Role.TURN_JUDGE
    tables = ("eval.turn_judgements",)

    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        run, _ = self.runs(con)
        return [] if run is None else eval_store.judge_turns_pending(con, language, run,
                                                                     version, limit)

    async def histories(self, item: JudgeItem) -> dict[int, list[EvalTurn]]:
        """What the model saw before each turn in its setting (generated: its own earlier
        replies), rebuilt by replaying its stored predictions through the setting."""
        seen: dict[int, list[EvalTurn]] = {}

        async def replay(d: EvalDialogue, history: list[EvalTurn], utt_index: int
                         ) -> Prediction:
            if utt_index in item.predictions:
                seen[utt_index] = history
                return item.predictions[utt_index]
            return Prediction.failed(utt_index, "not predicted")

        await predict_dialogue(item.dialogue, self.setting, replay)
        return seen

    async def judge(self, gw: Any, item: JudgeItem, utt_index: int,
                    history: list[EvalTurn]) -> Verdict:
        p, lang = item.predictions[utt_index], item.dialogue.language
        if p.status != "ok" or p.strategy_id is None:
            return Verdict(utt_index, "skipped",
                           error="not judged: the model's answer could not be read")
        payload = TurnJudgeInput(language=lang, history=input_turns(history, lang),
                                 strategy=strategy_label(p.strategy_id, lang),
                                 reply=p.text or "")
        value = await self.ask(gw, item, utt_index, payload)
        if isinstance(value, str):
            return Verdict(utt_index, "failed", error=value)
        return Verdict(utt_index, "ok", {**{s: getattr(value, s) for s in SCORES},
                                         "reason": value.reason.strip()})

    def rows(self, outcomes: list[Judged], version: str, run_id: str
             ) -> dict[str, list[dict]]:
        empty = dict.fromkeys((*SCORES, "reason"))
        return {"eval.turn_judgements": [{**empty, **self.base_row(o, v, version)}
                                         for o in outcomes if o.status == "kept"
                                         for v in o.results]}


class PairwiseStage(_JudgeStage):
    """Each turn's reply of one model's run against the reference model's reply for the same
    turn and setting (CSC_EVAL_REFERENCE_MODEL). Both are shown after the gold history: in
    the generated setting the two models' own histories differ, and only the gold one is
    common to both. Nothing runs for the reference model itself."""

    name = "judge-pairwise"
    roles = (Role.PAIRWISE_JUDGE,)
    role = Role.PAIRWISE_JUDGE
    tables = ("eval.pairwise",)
    compares = True

    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        run, ref = self.runs(con)
        if run is None or ref is None or self.model == self.reference_model:
            return []
        return eval_store.judge_pairwise_pending(con, language, run, ref, version, limit)

    async def histories(self, item: JudgeItem) -> dict[int, list[EvalTurn]]:
        turns = item.dialogue.turns
        return {t.utt_index: list(turns[:i]) for i, t in enumerate(turns)
                if t.utt_index in item.predictions and t.utt_index in item.reference}

    async def judge(self, gw: Any, item: JudgeItem, utt_index: int,
                    history: list[EvalTurn]) -> Verdict:
        mine, theirs = item.predictions[utt_index], item.reference[utt_index]
        first = shown_first(item.dialogue.dialogue_id, utt_index)
        shown = {"shown_first": first}
        if mine.status != "ok" or theirs.status != "ok":  # no reply loses without asking
            if mine.status == theirs.status:
                verdict, missing = "tie", "either side"
            else:
                verdict = "reference" if mine.status != "ok" else "model"
                missing = "the model" if verdict == "reference" else "the reference"
            return Verdict(utt_index, "forfeit", {**shown, "verdict": verdict,
                                                  "reason": f"no readable reply from {missing}"})
        lang = item.dialogue.language
        a, b = (mine, theirs) if first == "model" else (theirs, mine)
        payload = PairwiseInput(
            language=lang, history=input_turns(history, lang),
            strategy_a=strategy_label(a.strategy_id, lang) if a.strategy_id else "",
            reply_a=a.text or "",
            strategy_b=strategy_label(b.strategy_id, lang) if b.strategy_id else "",
            reply_b=b.text or "")
        value = await self.ask(gw, item, utt_index, payload)
        if isinstance(value, str):
            return Verdict(utt_index, "failed", shown, error=value)
        second = "reference" if first == "model" else "model"
        verdict = {"A": first, "B": second, "tie": "tie"}[value.better]
        return Verdict(utt_index, "ok", {**shown, "verdict": verdict,
                                         "reason": value.reason.strip()})

    def rows(self, outcomes: list[Judged], version: str, run_id: str
             ) -> dict[str, list[dict]]:
        return {"eval.pairwise": [
            {"verdict": None, "reason": None, **self.base_row(o, v, version),
             "reference_run_key": o.item.reference_run_key}
            for o in outcomes if o.status == "kept" for v in o.results]}


# ---- metrics of the judgements ---------------------------------------------------------------

def judge_metrics(scores: pl.DataFrame, verdicts: pl.DataFrame, *, is_reference: bool,
                  resamples: int, seed: int) -> dict[str, MetricValue]:
    """judge_<score> (the mean 1-5 score over the judged turns) and win_rate (x100: wins plus
    half the ties over the compared turns), each with a 95% bootstrap interval resampled by
    dialogue; 'not computed: <why>' when there is nothing to compute them on."""
    out: dict[str, MetricValue] = {}
    judged = scores.filter(pl.col("status") == "ok") if len(scores) else scores
    for s in SCORES:
        name = f"judge_{s}"
        if not len(judged):
            out[name] = MetricValue(name, None, status=f"{NOT_COMPUTED}: no judged turns")
            continue
        sums, ns = _per_dialogue(judged, pl.col(s).cast(pl.Float64))
        counts = draw_counts(len(ns), resamples, seed)
        low, high = percentile_interval(ratio(counts, sums, ns) / 100.0)
        out[name] = MetricValue(name, float(sums.sum() / ns.sum()), low, high,
                                n=int(ns.sum()))
    compared = verdicts.filter(pl.col("status").is_in(["ok", "forfeit"])) \
        if len(verdicts) else verdicts
    if is_reference:
        out["win_rate"] = MetricValue("win_rate", None,
                                      status=f"{NOT_COMPUTED}: this is the reference model")
    elif not len(compared):
        out["win_rate"] = MetricValue(
            "win_rate", None, status=f"{NOT_COMPUTED}: no turn compared with the reference")
    else:
        points = (pl.when(pl.col("verdict") == "model").then(1.0)
                  .when(pl.col("verdict") == "tie").then(0.5).otherwise(0.0))
        sums, ns = _per_dialogue(compared, points)
        counts = draw_counts(len(ns), resamples, seed)
        low, high = percentile_interval(ratio(counts, sums, ns))
        out["win_rate"] = MetricValue("win_rate", float(100.0 * sums.sum() / ns.sum()), low,
                                      high, n=int(ns.sum()))
    return out


def _per_dialogue(frame: pl.DataFrame, value: pl.Expr) -> tuple[np.ndarray, np.ndarray]:
    """(sum of `value`, number of turns) per dialogue: the bootstrap's resampling unit."""
    per = (frame.group_by("dialogue_id", maintain_order=True)
           .agg(value.sum().alias("sum"), pl.len().alias("n")))
    return per["sum"].to_numpy().astype(np.float64), per["n"].to_numpy().astype(np.float64)


def judgement_fingerprint(scores: pl.DataFrame, verdicts: pl.DataFrame) -> str:
    """What the judge metrics are computed on, as a hash: any new or changed judgement or
    verdict changes it."""
    blob = scores.write_csv() + "\x1e" + verdicts.write_csv()
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
