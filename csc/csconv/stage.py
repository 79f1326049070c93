"""CSConv construction for a batch of dialogues: LLM pre-filter -> rewrite -> rule post-filter
-> LLM judge. Pure of Prefect and of the warehouse: dialogues in, outcomes out.

Every dialogue of a batch ends as exactly one of: kept, rejected (with the step and reason),
or dead-lettered (an LLM call failed for good; retried on the next run), or deferred (the
run's budget ran out before it started; also retried on the next run).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

import polars as pl

from csc.csconv.postfilter import PostfilterConfig, RuleOutcome, apply_rules
from csc.framework import strategy_catalogue
from csc.llm.gateway import LLMFailure, LLMGateway, LLMRequest
from csc.pii import mask_frame
from csc.progress import BatchProgress
from csc.prompts import load_prompt, prompt_variant
from csc.speakers import UNKNOWN_SPEAKER
from schemas.llm import (
    DialogueInput,
    InputTurn,
    PrefilterVerdict,
    RewrittenDialogue,
    RewrittenTurn,
    Role,
    output_of,
)


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


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def _input(d: SourceDialogue) -> DialogueInput:
    return DialogueInput(language=d.language,  # type: ignore[arg-type]
                         dialogue=[InputTurn(speaker=s, text=t) for s, t in d.turns])


def _request(role: Role, d: SourceDialogue, payload: DialogueInput, response_type) -> LLMRequest:
    prompt = load_prompt(role, d.language)
    messages = prompt.render(payload, strategies=strategy_catalogue(d.language))
    return LLMRequest(role, messages, item_key=d.dialogue_id, prompt_version=prompt.version,
                      response_type=response_type)


def _lineage(gw: LLMGateway, role: Role, language: str) -> dict:
    """Which model and prompt produced a step's verdict, stored with it."""
    return {"model": gw.settings.role(role).model,
            "prompt_version": load_prompt(role, language).version}


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
    frame = mask_frame(pl.DataFrame({"text": texts, "language": [language] * len(texts)},
                                    schema={"text": pl.String, "language": pl.String}))
    masked, counts = frame["text"].to_list(), frame["pii_masked"].to_list()
    out = [t if t.text == text else t.model_copy(update={"text": text})
           for t, text in zip(turns, masked, strict=False)]
    return out, masked[-1] if reasoning is not None else None, sum(counts[:-1]), counts[-1]


async def process_dialogue(gw: LLMGateway, d: SourceDialogue,
                           cfg: PostfilterConfig) -> Outcome:
    o = Outcome(d.dialogue_id, d.language, "kept")
    payload = _input(d)

    pre = await gw.one(_request(Role.PREFILTER_JUDGE, d, payload, PrefilterVerdict))
    if isinstance(pre, LLMFailure):
        return _failed(o, pre)
    o.prefilter = {"low_quality": pre.value.low_quality, "reason": pre.value.reason,
                   "reasoning": pre.reasoning, **_lineage(gw, Role.PREFILTER_JUDGE, d.language)}
    if pre.value.low_quality:
        o.status, o.step, o.reason = "rejected", "llm_prefilter", pre.value.reason or "low quality"
        return o

    rew = await gw.one(_request(Role.REWRITER, d, payload, RewrittenDialogue))
    if isinstance(rew, LLMFailure):
        if _speaker_refused(rew):
            o.status, o.step = "rejected", "speaker"
            o.reason = rew.error[:300]
            return o
        return _failed(o, rew)
    turns, reasoning, pii_turns, pii_reasoning = mask_rewrite(rew.value.root, rew.reasoning,
                                                              d.language)
    o.rules = apply_rules(turns, cfg, d.turns, d.language)
    o.rewrite = {"turns": [t.model_dump() for t in turns], "reasoning": reasoning,
                 "trimmed": o.rules.trimmed, "pii_masked": pii_turns,
                 "pii_masked_reasoning": pii_reasoning, "faithfulness": o.rules.faithfulness,
                 **_lineage(gw, Role.REWRITER, d.language)}
    if not o.rules.passed:
        o.status, o.step, o.reason = "rejected", o.rules.step, o.rules.reason
        return o

    judged = DialogueInput(language=d.language, dialogue=[  # type: ignore[arg-type]
        InputTurn(speaker=t.speaker, text=t.text, strategy=t.strategy_label)  # type: ignore
        for t in o.rules.turns])
    # the default judge is binary (§3.5 b); a named variant may answer with more tiers
    judge_type = output_of(Role.POSTFILTER_JUDGE, prompt_variant(Role.POSTFILTER_JUDGE))
    verdict = await gw.one(_request(Role.POSTFILTER_JUDGE, d, judged, judge_type))
    if isinstance(verdict, LLMFailure):
        return _failed(o, verdict)
    o.judgement = {"quality": verdict.value.quality, "reason": verdict.value.reason,
                   "reasoning": verdict.reasoning,
                   **_lineage(gw, Role.POSTFILTER_JUDGE, d.language)}
    if verdict.value.quality != "high":
        o.status, o.step = "rejected", "judge"
        o.reason = f"judged {verdict.value.quality}: {verdict.value.reason}"
    return o


async def process_batch(gw: LLMGateway, dialogues: list[SourceDialogue],
                        cfg: PostfilterConfig = PostfilterConfig(),
                        progress: BatchProgress | None = None) -> BatchResult:
    """Run every dialogue's chain concurrently; the gateway bounds the requests in flight.
    `progress` is advanced as each dialogue's chain ends."""
    async def one(d: SourceDialogue) -> Outcome:
        outcome = await process_dialogue(gw, d, cfg)
        if progress is not None:
            progress.advance()
        return outcome

    outcomes = await asyncio.gather(*(one(d) for d in dialogues))
    return BatchResult(list(outcomes))


def csconv_id(dialogue_id: str, version: str) -> str:
    return hashlib.blake2b(f"{dialogue_id}|{version}".encode(), digest_size=16).hexdigest()

