"""One RoleCS dialogue, simulated by LLM roles (csc-method §4): the loop and its stop rules.

The planner turns a persona and a topic into a scenario and a customer goal; then, turn by
turn, the supporter assistant picks a strategy, the supporter speaks, the customer assistant
gives a direction and the customer answers, until the supporter closes, the customer has
finished (the supporter then gets one last turn), or the dialogue reaches its length cap.

The method's rules are enforced here, not only asked of the prompts: the opening is a
Greeting; a strategy never stands three times in a row (asked once more with the strategy
named as one to avoid; if it comes back, the dialogue stops with that reason); a label no
strategy matches becomes Others; and a role repeating itself (an utterance near-identical to
the same speaker's previous one) stops the dialogue as a loop. Every stop has a reason.

Crash safety and resuming come from the LLM journal: every answer is durable as it arrives
and the requests are deterministic in the history, so a dialogue cut short by a crash replays
its finished turns from the cache and goes on from there; its rows are written whole, once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from csc.framework import BY_ID, CLOSURE, GREETING, OTHERS, normalise_label, strategy_label
from csc.llm.asking import Answer
from csc.llm.gateway import LLMFailure
from schemas.llm import DialogueInput, InputTurn, Role, RolePlayInput
from schemas.rolecs import NATURAL_STOPS


@dataclass(frozen=True)
class LoopRules:
    """What bounds one dialogue (the method's: 50 utterances)."""

    max_utterances: int = 50
    loop_similarity: float = 0.9  # an utterance this close to its speaker's previous: a loop

    def parts(self) -> list[str]:
        """Part of the stage's version: changing a bound re-simulates."""
        return [f"max={self.max_utterances}|loop>={self.loop_similarity}"]


@dataclass(frozen=True)
class Scenario:
    """What one dialogue is simulated from: a persona meeting a topic."""

    scenario_id: str
    language: str
    persona_id: str
    topic: str
    profile: str  # the persona's profile as the describer reads it (canonical JSON)


@dataclass
class Turn:
    speaker: str  # customer | supporter
    text: str
    strategy_id: int | None = None
    direction: str | None = None  # the customer assistant's direction, for a customer turn
    reasoning: str | None = None  # the supporter assistant's reason, or the model's thinking
    model: str | None = None
    prompt_version: str | None = None


@dataclass
class Simulated:
    """A finished dialogue (status kept/rejected) or one abandoned by a failed call
    (dead/deferred: nothing is written, and it is simulated again next run)."""

    scenario: Scenario
    status: str
    stop_reason: str | None = None
    description: Answer | None = None
    plan: Answer | None = None
    turns: list[Turn] = field(default_factory=list)
    judgement: Answer | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # rules the code enforced, for lineage

    @property
    def accepted(self) -> bool:
        return self.status == "kept"


class _Abandoned(Exception):
    def __init__(self, failure: LLMFailure) -> None:
        super().__init__(failure.error)
        self.failure = failure


async def _ask(gw: Any, role: Role, payload: Any, s: Scenario) -> Answer:
    got = await gw.ask(role, payload, s.language, s.scenario_id)
    if isinstance(got, LLMFailure):
        raise _Abandoned(got)
    return got


def _history(turns: list[Turn], language: str) -> list[InputTurn]:
    return [InputTurn(speaker=t.speaker, text=t.text,
                      strategy=strategy_label(t.strategy_id, language)
                      if t.strategy_id is not None else None) for t in turns]


def near_identical(a: str, b: str, threshold: float) -> bool:
    """Two utterances that say the same thing: the same after spaces are removed, or a
    character similarity (difflib's ratio, from the standard library) at or over
    `threshold`."""
    a, b = "".join(a.split()), "".join(b.split())
    if a == b:
        return True
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def _repeats(turns: list[Turn], sid: int) -> bool:
    """Would `sid` be the same strategy three supporter turns in a row?"""
    used = [t.strategy_id for t in turns if t.speaker == "supporter"]
    return len(used) >= 2 and used[-1] == used[-2] == sid


def _loops(turns: list[Turn], rules: LoopRules) -> bool:
    last = turns[-1]
    before = next((t for t in reversed(turns[:-1]) if t.speaker == last.speaker), None)
    return before is not None and near_identical(before.text, last.text, rules.loop_similarity)


def strategy_of(answer: Answer) -> int:
    """The strategy the assistant named; Others when no single strategy matches."""
    found = normalise_label(getattr(answer.value, "strategy", None))
    return found.id if found.ok else OTHERS


async def _choose(gw: Any, s: Scenario, base: RolePlayInput, turns: list[Turn],
                  notes: list[str]) -> tuple[int, Answer | None]:
    """The strategy of the next supporter turn, with the rules of §4 enforced."""
    if not turns:
        return GREETING, None  # the opening is a Greeting: nothing to ask
    payload = base.model_copy(update={"history": _history(turns, s.language)})
    answer = await _ask(gw, Role.SUPPORTER_ASSISTANT, payload, s)
    sid = strategy_of(answer)
    if _repeats(turns, sid):
        notes.append(f"turn {len(turns)}: {BY_ID[sid].abbr} a third time in a row, asked again")
        again = payload.model_copy(update={"avoid": [strategy_label(sid, s.language)]})
        answer = await _ask(gw, Role.SUPPORTER_ASSISTANT, again, s)
        sid = strategy_of(answer)
    return sid, answer


async def simulate(gw: Any, s: Scenario, rules: LoopRules = LoopRules()) -> Simulated:
    """Simulate and judge one dialogue. A failed call abandons it (dead or deferred)."""
    out = Simulated(s, "rejected")
    try:
        await _converse(gw, s, rules, out)
        if out.stop_reason in NATURAL_STOPS:
            out.judgement = await _ask(gw, Role.DIALOGUE_JUDGE, DialogueInput(
                language=s.language, dialogue=_history(out.turns, s.language)), s)
            out.status = "kept" if out.judgement.value.passed else "rejected"
    except _Abandoned as gone:
        out.status, out.error = gone.failure.kind, gone.failure.error
    return out


async def _converse(gw: Any, s: Scenario, rules: LoopRules, out: Simulated) -> None:
    lang = s.language
    out.description = await _ask(gw, Role.PERSONA_DESCRIBER,
                                 RolePlayInput(language=lang, persona=s.profile), s)
    persona = out.description.value.description
    out.plan = await _ask(gw, Role.PLANNER,
                          RolePlayInput(language=lang, persona=persona, topic=s.topic), s)
    base = RolePlayInput(language=lang, persona=persona, topic=s.topic,
                         scenario=out.plan.value.scenario, goal=out.plan.value.goal)
    turns, customer_done = out.turns, False
    while True:
        sid, choice = await _choose(gw, s, base, turns, out.notes)
        if _repeats(turns, sid):
            out.stop_reason = "strategy_repeated"
            return
        said = await _ask(gw, Role.SUPPORTER, base.model_copy(update={
            "strategy": strategy_label(sid, lang), "history": _history(turns, lang)}), s)
        turns.append(Turn("supporter", said.value.text.strip(), sid,
                          reasoning=choice.value.reason if choice else None,
                          model=said.model, prompt_version=said.prompt_version))
        if _loops(turns, rules):
            out.stop_reason = "loop"
            return
        if sid == CLOSURE:
            out.stop_reason = "closure"
            return
        if customer_done:
            out.stop_reason = "customer_finished"
            return
        if len(turns) >= rules.max_utterances:
            out.stop_reason = "max_utterances"
            return
        history = _history(turns, lang)
        hint = await _ask(gw, Role.CUSTOMER_ASSISTANT,
                          base.model_copy(update={"history": history}), s)
        reply = await _ask(gw, Role.CUSTOMER, base.model_copy(update={
            "direction": hint.value.direction, "history": history}), s)
        turns.append(Turn("customer", reply.value.text.strip(),
                          direction=hint.value.direction, reasoning=reply.reasoning,
                          model=reply.model, prompt_version=reply.prompt_version))
        if _loops(turns, rules):
            out.stop_reason = "loop"
            return
        if len(turns) >= rules.max_utterances:
            out.stop_reason = "max_utterances"
            return
        customer_done = bool(reply.value.finished)
