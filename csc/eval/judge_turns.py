"""The turn judge: scores 1-5 of every predicted supporter turn (resolution, empathy, strategy
appropriateness) with a reason, shown the history the model saw in its setting. The shared
judge stage is csc/eval/judge_stage.py; the metrics of the scores csc/eval/judge_metrics.py.
"""

from __future__ import annotations

from typing import Any

import duckdb

from csc.eval.context import EvalDialogue, EvalTurn, Prediction, predict_dialogue
from csc.eval.judge_metrics import SCORES
from csc.eval.judge_stage import Judged, JudgeItem, JudgeStage, Verdict, input_turns
from csc.framework import strategy_label
from schemas.llm import Role, TurnJudgeInput
from warehouse import eval_store


class TurnJudgeStage(JudgeStage):
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
