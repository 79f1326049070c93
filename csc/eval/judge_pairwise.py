"""The pairwise judge: each turn's reply of a model against the reference model's
(CSC_EVAL_REFERENCE_MODEL) for the same turn, both after the gold history, the two shown in an
order fixed per turn (`shown_first`). The shared judge stage is csc/eval/judge_stage.py; the
win rate csc/eval/judge_metrics.py.
"""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb

from csc.eval.context import EvalTurn
from csc.eval.judge_stage import Judged, JudgeItem, JudgeStage, Verdict, input_turns
from csc.framework import strategy_label
from schemas.llm import PairwiseInput, Role
from warehouse import eval_store


def shown_first(csconv_id: str, utt_index: int) -> str:
    """Whose reply the pairwise judge sees as "A": 'model' or 'reference', by a hash of the
    turn, so over a run each side is first about half the time and a judge's liking for the
    first (or second) position cancels; the same turn is always shown the same way."""
    digest = hashlib.sha256(f"{csconv_id}\x1f{utt_index}".encode()).digest()
    return "model" if digest[0] % 2 == 0 else "reference"


class PairwiseStage(JudgeStage):
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
