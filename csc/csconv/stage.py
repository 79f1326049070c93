"""CSConv construction, one dialogue at a time: LLM pre-filter -> rewrite -> rule post-filter
-> LLM judge. The stage's domain code on the stage kit (csc.kit): no Prefect, no SQL.

Every dialogue of a batch ends as exactly one of: kept, rejected (with the step and reason),
or dead-lettered (an LLM call failed for good; retried on the next run), or deferred (the
run's budget ran out before it started; also retried on the next run).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import duckdb
import polars as pl

from csc.csconv.postfilter import RULES_VERSION, PostfilterConfig, RuleOutcome, apply_rules
from csc.kit.stage import LLMStage
from csc.llm.gateway import LLMFailure, LLMGateway
from csc.llm.settings import LLMSettings
from csc.pii import mask_frame, may_hold_pii
from csc.speakers import UNKNOWN_SPEAKER
from schemas.csconv import CsconvDialogue, CsconvUtterance
from schemas.llm import DialogueInput, InputTurn, RewrittenTurn, Role
from warehouse.csconv_store import batch_areas, pending, target_turns


@dataclass(frozen=True)
class SourceDialogue:
    dialogue_id: str
    language: str
    business_area: str | None
    turns: list[tuple[str, str]]  # (speaker, text) of raw.utterances, in order


@dataclass
class Outcome:
    dialogue_id: str
    language: str
    status: str  # kept | rejected | dead | deferred
    step: str | None = None  # rejects: llm_prefilter | speaker | length | unfaithful | ...
    reason: str | None = None
    prefilter: dict | None = None  # {low_quality, reason, reasoning, model, prompt_version}
    # {turns, reasoning, model, prompt_version, trimmed, pii_masked, pii_masked_reasoning,
    #  faithfulness}
    rewrite: dict | None = None
    judgement: dict | None = None  # {quality, reason, reasoning, model, prompt_version}
    rules: RuleOutcome | None = None
    error: str | None = None


def _input(d: SourceDialogue) -> DialogueInput:
    return DialogueInput(language=d.language,  # type: ignore[arg-type]
                         dialogue=[InputTurn(speaker=s, text=t) for s, t in d.turns])


def _failed(o: Outcome, failure: LLMFailure) -> Outcome:
    o.status = "dead" if failure.kind == "dead" else "deferred"
    o.error = failure.error
    return o


def _speaker_refused(failure: LLMFailure) -> bool:
    """The rewriter kept naming a speaker outside the shared table through every re-ask (the
    answer type refuses it, so the gateway re-asked with the names allowed). That is this
    dialogue's outcome, not a failed call to retry on the next run."""
    return failure.kind == "dead" and UNKNOWN_SPEAKER in failure.error


def mask_rewrite(turns: list[RewrittenTurn], reasoning: str | None,
                 language: str) -> tuple[list[RewrittenTurn], str | None, int, int]:
    """Issue 11 A7: the ingest masker over what the rewriter wrote, before anything is stored
    or sent to the judge (a model can invent a phone number, or repeat one in its reasoning).
    Returns the masked turns and reasoning, and how many spans each held."""
    texts = [t.text for t in turns] + [reasoning or ""]
    if not any(may_hold_pii(t) for t in texts):  # the usual case: nothing to look at
        return turns, reasoning, 0, 0
    frame = mask_frame(pl.DataFrame({"text": texts, "language": [language] * len(texts)},
                                    schema={"text": pl.String, "language": pl.String}))
    masked, counts = frame["text"].to_list(), frame["pii_masked"].to_list()
    out = [t if t.text == text else t.model_copy(update={"text": text})
           for t, text in zip(turns, masked, strict=False)]
    return out, masked[-1] if reasoning is not None else None, sum(counts[:-1]), counts[-1]


def _checked_rewrite(turns: list[RewrittenTurn], reasoning: str | None, d: SourceDialogue,
                     cfg: PostfilterConfig) -> tuple:
    """(rule outcome, masked turns, masked reasoning, PII spans in turns, in reasoning)."""
    masked, reasoning, pii_turns, pii_reasoning = mask_rewrite(turns, reasoning, d.language)
    return apply_rules(masked, cfg, d.turns, d.language), masked, reasoning, pii_turns, \
        pii_reasoning


async def process_dialogue(gw: LLMGateway, d: SourceDialogue,
                           cfg: PostfilterConfig) -> Outcome:
    o = Outcome(d.dialogue_id, d.language, "kept")
    payload = _input(d)

    pre = await gw.ask(Role.PREFILTER_JUDGE, payload, d.language, d.dialogue_id)
    if isinstance(pre, LLMFailure):
        return _failed(o, pre)
    o.prefilter = {"low_quality": pre.value.low_quality, "reason": pre.value.reason,
                   "reasoning": pre.reasoning, **pre.lineage}
    if pre.value.low_quality:
        o.status, o.step, o.reason = "rejected", "llm_prefilter", pre.value.reason or "low quality"
        return o

    rew = await gw.ask(Role.REWRITER, payload, d.language, d.dialogue_id)
    if isinstance(rew, LLMFailure):
        if _speaker_refused(rew):
            o.status, o.step = "rejected", "speaker"
            o.reason = rew.error[:300]
            return o
        return _failed(o, rew)
    # Masking and the rules run polars and regexes: on a worker thread (polars releases the
    # GIL), so the event loop keeps every other dialogue's calls going meanwhile.
    o.rules, turns, reasoning, pii_turns, pii_reasoning = await asyncio.to_thread(
        _checked_rewrite, rew.value.root, rew.reasoning, d, cfg)
    o.rewrite = {"turns": [t.model_dump() for t in turns], "reasoning": reasoning,
                 "trimmed": o.rules.trimmed, "pii_masked": pii_turns,
                 "pii_masked_reasoning": pii_reasoning, "faithfulness": o.rules.faithfulness,
                 **rew.lineage}
    if not o.rules.passed:
        o.status, o.step, o.reason = "rejected", o.rules.step, o.rules.reason
        return o

    judged = DialogueInput(language=d.language, dialogue=[  # type: ignore[arg-type]
        InputTurn(speaker=t.speaker, text=t.text, strategy=t.strategy_label)  # type: ignore
        for t in o.rules.turns])
    # the default judge is binary (§3.5 b); a named variant may answer with more tiers
    verdict = await gw.ask(Role.POSTFILTER_JUDGE, judged, d.language, d.dialogue_id)
    if isinstance(verdict, LLMFailure):
        return _failed(o, verdict)
    o.judgement = {"quality": verdict.value.quality, "reason": verdict.value.reason,
                   "reasoning": verdict.reasoning, **verdict.lineage}
    if verdict.value.quality != "high":
        o.status, o.step = "rejected", "judge"
        o.reason = f"judged {verdict.value.quality}: {verdict.value.reason}"
    return o


def csconv_id(dialogue_id: str, version: str) -> str:
    return hashlib.blake2b(f"{dialogue_id}|{version}".encode(), digest_size=16).hexdigest()



class CsconvStage(LLMStage[SourceDialogue, Outcome]):
    """CSConv on the kit: rule-passed raw dialogues in, csconv.* rows out."""

    name = "csconv"
    roles = (Role.PREFILTER_JUDGE, Role.REWRITER, Role.POSTFILTER_JUDGE)
    tables = ("csconv.llm_prefilter", "csconv.rewrites", "csconv.judgements",
              "csconv.dialogues", "csconv.utterances", "csconv.rejects")
    unstamped = ("csconv.utterances",)
    contracts: ClassVar[dict] = {"csconv.dialogues": CsconvDialogue,
                                 "csconv.utterances": CsconvUtterance}

    def __init__(self, settings: LLMSettings, cfg: PostfilterConfig | None = None) -> None:
        super().__init__(settings)
        self.cfg = cfg or PostfilterConfig.from_env()
        self.areas: dict[str, str | None] = {}

    def settings_parts(self, language: str) -> list[str]:
        return [f"{self.cfg.min_utterances}-{self.cfg.max_utterances}",
                f"faithful>={self.cfg.faithful_threshold(language)}|rules={RULES_VERSION}"]

    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        return pending(con, language, version, limit)

    def load(self, con: duckdb.DuckDBPyConnection, language: str,
             ids: Sequence[str]) -> list[SourceDialogue]:
        turns = target_turns(con, "raw", list(ids))
        areas = batch_areas(con, list(ids))
        self.areas.update(areas)
        return [SourceDialogue(i, language, areas.get(i), turns[i]) for i in ids if i in turns]

    async def process(self, gw: LLMGateway, item: SourceDialogue) -> Outcome:
        return await process_dialogue(gw, item, self.cfg)

    def rows(self, outcomes: list[Outcome], version: str, run_id: str) -> dict[str, list[dict]]:
        from csc.csconv.rows import outcome_rows

        return outcome_rows(outcomes, {o.language: version for o in outcomes}, self.areas,
                            run_id)
