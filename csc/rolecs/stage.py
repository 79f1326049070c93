"""RoleCS on the stage kit: personas x topics in, simulated and judged dialogues out.

An item is a scenario, one persona meeting one topic (csc-method §4: one dialogue per pair).
The pool is every pair of the stored personas and the configured topics, in an order fixed by
the seed. A batch (by default the run's UTC date) asks for the next N scenarios of that
sequence without a dialogue under the current version, once (rolecs.requests): its later
runs finish those, so a nightly synthesizes N new dialogues per night, a crash's rerun ends
with what an uninterrupted run makes, and a rerun of a finished batch makes no LLM call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import duckdb

from csc.framework import usual_phase
from csc.kit.stage import LLMStage
from csc.llm.settings import LLMSettings
from csc.rolecs.dialogue import LoopRules, Scenario, Simulated, simulate
from csc.rolecs.personas import LANGUAGES, topics_for
from csc.settings import current
from schemas.llm import STAGE_ROLES
from schemas.rolecs import RolecsDialogue, RolecsUtterance
from warehouse.db import insert_rows, query, transaction
from warehouse.queries import sql


def today() -> str:
    """The default batch: the UTC date, so each night's run is its own batch."""
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class RolecsConfig:
    """The run's choices: its batch, which topics, in which seeded order, under which loop
    bounds."""

    batch: str = field(default_factory=today)
    topics: dict[str, tuple[str, ...]] | None = None  # per language; else the 7 of §4
    seed: int = 0
    rules: LoopRules = field(default_factory=LoopRules)

    @classmethod
    def from_settings(cls) -> RolecsConfig:
        """CSC_ROLECS_TOPICS_ZH/EN, _SEED and _MAX_UTTERANCES (csc.settings)."""
        s = current()
        topics = {lang: s.rolecs_topics(lang) for lang in LANGUAGES}
        return cls(topics={k: v for k, v in topics.items() if v} or None, seed=s.rolecs_seed,
                   rules=LoopRules(max_utterances=s.rolecs_max_utterances))

    def topics_of(self, language: str) -> tuple[str, ...]:
        if self.topics is not None and language in self.topics:
            return self.topics[language]
        return tuple(topics_for(language))


def scenario_id(language: str, persona_id: str, topic: str) -> str:
    return hashlib.sha256(f"{language}\x1f{persona_id}\x1f{topic}".encode()).hexdigest()[:16]


def dialogue_id(scenario: str, version: str) -> str:
    return hashlib.sha256(f"{scenario}|{version}".encode()).hexdigest()[:16]


def seeded_order(ids: list[str], seed: int) -> list[str]:
    """A fixed shuffle of `ids` for `seed`, which the ids' own order does not change: each id
    is placed by a hash of the seed and itself."""
    return sorted(ids, key=lambda i: hashlib.sha256(f"{seed}|{i}".encode()).digest())


class RolecsStage(LLMStage[Scenario, Simulated]):
    """Simulate, judge and keep one dialogue per (persona, topic) pair."""

    name = "rolecs"
    roles = STAGE_ROLES["rolecs"]  # schemas.llm.ROLES says which roles RoleCS asks
    tables = ("rolecs.scenarios", "rolecs.dialogues", "rolecs.utterances", "rolecs.judgements")
    contracts: ClassVar[dict] = {"rolecs.dialogues": RolecsDialogue,
                                 "rolecs.utterances": RolecsUtterance}
    unstamped = ("rolecs.utterances",)
    # A dialogue is ~30 calls in sequence: with 8 alive per slot the slots stay busy to the
    # end of a run (bench/rolecs.py: 2 per slot 1.24, 5 per slot 1.15 x its ideal).
    items_per_slot = 8

    def __init__(self, settings: LLMSettings, batch: str | None = None,
                 cfg: RolecsConfig | None = None) -> None:
        super().__init__(settings)
        cfg = cfg or RolecsConfig.from_settings()
        self.cfg = replace(cfg, batch=batch) if batch else cfg

    @property
    def key(self) -> str:
        return f"{self.name}-{self.cfg.batch}"

    def settings_parts(self, language: str) -> list[str]:
        return self.cfg.rules.parts()

    def pool(self, con: duckdb.DuckDBPyConnection, language: str) -> dict[str, Scenario]:
        """Every scenario of the stored personas and the configured topics, by id."""
        topics = self.cfg.topics_of(language)
        return {(sid := scenario_id(language, pid, topic)): Scenario(sid, language, pid, topic,
                                                                     profile)
                for pid, profile in query(con, sql("rolecs/personas"), [language])
                for topic in topics}

    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        """The batch's scenarios without a dialogue. A batch's first plan draws them: the
        next `limit` of the seeded sequence that have no dialogue under `version` (all of
        them when None); every later plan of the batch only finishes those."""
        cfg = self.cfg
        asked = query(con, sql("rolecs/requested"), [cfg.batch, version, language])
        if asked:
            return seeded_order([i for i, done in asked if not done], cfg.seed)
        done = {i for (i,) in query(con, sql("rolecs/done"), [language, version])}
        ids = seeded_order([i for i in self.pool(con, language) if i not in done], cfg.seed)
        ids = ids if limit is None else ids[:limit]
        with transaction(con):
            insert_rows(con, "rolecs.requests",
                        [{"batch": cfg.batch, "version": version, "scenario_id": i,
                          "language": language} for i in ids], "requested_at")
        return ids

    def load(self, con: duckdb.DuckDBPyConnection, language: str,
             ids: Sequence[str]) -> list[Scenario]:
        pool = self.pool(con, language)
        return [pool[i] for i in ids if i in pool]

    async def process(self, gw: Any, item: Scenario) -> Simulated:
        return await simulate(gw, item, self.cfg.rules)

    def rows(self, outcomes: list[Simulated], version: str, run_id: str
             ) -> dict[str, list[dict]]:
        tables: dict[str, list[dict]] = {t: [] for t in self.tables}
        for o in outcomes:
            if o.status in ("dead", "deferred"):
                continue  # abandoned: simulated again next run
            for table, rows in dialogue_rows(o, version, run_id).items():
                tables[table] += rows
        return tables


def dialogue_rows(o: Simulated, version: str, run_id: str) -> dict[str, list[dict]]:
    """One finished dialogue as rows of the four rolecs tables."""
    s = o.scenario
    did = dialogue_id(s.scenario_id, version)
    key = {"dialogue_id": did, "scenario_id": s.scenario_id, "version": version,
           "language": s.language, "persona_id": s.persona_id, "topic": s.topic}
    assert o.description is not None and o.plan is not None  # set before any turn
    scenario = {**key, "persona_description": o.description.value.description,
                "scenario": o.plan.value.scenario, "goal": o.plan.value.goal,
                "describer_model": o.description.model,
                "describer_prompt": o.description.prompt_version,
                "planner_model": o.plan.model, "planner_prompt": o.plan.prompt_version,
                "run_id": run_id}
    judged = o.judgement.value if o.judgement is not None else None
    status = ("stopped" if judged is None else "accepted" if judged.passed else "rejected")
    dialogue = {**key, "status": status, "stop_reason": o.stop_reason,
                "n_utterances": len(o.turns),
                "n_supporter": sum(t.speaker == "supporter" for t in o.turns),
                "judge_passed": None if judged is None else judged.passed,
                "notes": json.dumps(o.notes, ensure_ascii=False), "run_id": run_id}
    utterances = []
    for i, t in enumerate(o.turns):
        phase = usual_phase(t.strategy_id) if t.strategy_id is not None else None
        utterances.append({
            "dialogue_id": did, "utt_index": i, "speaker": t.speaker,
            "strategy_id": t.strategy_id, "stage": phase.name.lower() if phase else None,
            "direction": t.direction, "text": t.text, "reasoning": t.reasoning,
            "model": t.model, "prompt_version": t.prompt_version})
    judgements = []
    if judged is not None:
        judgements.append({
            "dialogue_id": did, "version": version,
            **{column: bool(getattr(judged, answer)) for answer, column in CRITERIA.items()},
            "passed": judged.passed,
            "reason": judged.reason or None, **o.judgement.lineage, "run_id": run_id})
    return {"rolecs.scenarios": [scenario], "rolecs.dialogues": [dialogue],
            "rolecs.utterances": utterances, "rolecs.judgements": judgements}


# The judge's answer fields -> rolecs.judgements columns ("natural" is an SQL keyword).
CRITERIA = {"strategy_adherence": "strategy_adherence",
            "unreasonable_requests": "unreasonable_requests", "natural": "natural_replies",
            "varied": "varied_expression", "role_consistent": "role_consistent"}
