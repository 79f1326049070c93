"""Independent strategy annotation of supporter turns, for rewritten and raw dialogues alike.

The rewriter names its own strategies; a second, independent annotator labelling the same
turns measures how noisy those labels are, and labelling raw, unrewritten logs tells analysts
which strategies their real agents use.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from csc.framework import STRATEGIES, normalise_label, strategy_catalogue
from csc.llm.gateway import LLMFailure, LLMGateway, LLMRequest, LLMResult
from csc.metrics.agreement import agreement, per_label
from csc.progress import BatchProgress
from csc.prompts import load_prompt
from schemas.llm import Annotation, DialogueInput, InputTurn, Role

# The label_error of a supporter turn the annotator's answer left out. Such an annotation is
# incomplete: the target stays pending (warehouse.csconv_store.ANNOTATION_PENDING spells the
# same words) and its next answer replaces it whole.
NOT_LABELLED = "not labelled"


@dataclass(frozen=True)
class Target:
    kind: str  # csconv | raw
    target_id: str
    language: str
    turns: list[tuple[str, str]]  # (speaker, text)


def _request(t: Target) -> LLMRequest:
    prompt = load_prompt(Role.ANNOTATOR, t.language)
    payload = DialogueInput(language=t.language,  # type: ignore[arg-type]
                            dialogue=[InputTurn(speaker=s, text=x) for s, x in t.turns])
    return LLMRequest(Role.ANNOTATOR, prompt.render(payload, strategies=strategy_catalogue(
        t.language)), item_key=f"{t.kind}:{t.target_id}", prompt_version=prompt.version,
        response_type=Annotation)


def label_rows(t: Target, ann: Annotation, model: str, version: str, run_id: str) -> list[dict]:
    """One row per supporter turn: the mapped id, or why the label could not be used."""
    given = {lab.index: lab.strategy for lab in ann.labels}
    rows = []
    for i, (speaker, _) in enumerate(t.turns):
        if speaker != "supporter":
            continue
        label = given.get(i)
        result = normalise_label(label) if label is not None else None
        rows.append({
            "target_kind": t.kind, "target_id": t.target_id, "utt_index": i,
            "strategy_id": result.id if result and result.ok else None,
            "strategy_label": label,
            "label_error": (NOT_LABELLED if result is None else
                            None if result.ok else result.error or "multi-strategy label"),
            "model": model, "prompt_version": version, "run_id": run_id,
        })
    return rows


def incomplete(rows: list[dict]) -> bool:
    """True when an annotation left a supporter turn without a label."""
    return any(r["label_error"] == NOT_LABELLED for r in rows)


async def _past_the_cache(gw: LLMGateway, requests: list[LLMRequest]) -> list:
    """Ask again without reading the cache (the fresh answer replaces the cached one)."""
    before, gw.refresh = gw.refresh, True
    try:
        return list(await asyncio.gather(*(gw.one(req) for req in requests)))
    finally:
        gw.refresh = before


async def annotate(gw: LLMGateway, targets: list[Target], run_id: str,
                   progress: BatchProgress | None = None) -> tuple[list[dict], int, int]:
    """(rows, dialogues dead-lettered, dialogues deferred); `progress` is advanced as each
    dialogue's answer (or failure) arrives.

    A target is here again when its stored annotation left a turn unlabelled. Its request is
    the same as last time, so the cache would hand back the same incomplete answer: such a
    cached answer is asked again past the cache, once. What comes back is written either way;
    if it is still incomplete, the target stays pending for the next run."""
    model = gw.settings.role(Role.ANNOTATOR).model

    async def one(t: Target) -> LLMResult | LLMFailure:
        result = await gw.one(_request(t))
        if progress is not None:
            progress.advance()
        return result

    def rows_of(t: Target, r: LLMResult) -> list[dict]:
        return label_rows(t, r.value, model, load_prompt(Role.ANNOTATOR, t.language).version,
                          run_id)

    results: list[LLMResult | LLMFailure] = list(await asyncio.gather(*(one(t) for t in targets)))
    stale = [i for i, (t, r) in enumerate(zip(targets, results, strict=True))
             if isinstance(r, LLMResult) and r.cached and incomplete(rows_of(t, r))]
    if stale:
        fresh = await _past_the_cache(gw, [_request(targets[i]) for i in stale])
        for i, r in zip(stale, fresh, strict=True):
            if isinstance(r, LLMResult):  # a failed re-ask keeps the cached answer's rows
                results[i] = r
    rows: list[dict] = []
    dead = deferred = 0
    for t, r in zip(targets, results, strict=True):
        if isinstance(r, LLMFailure):
            dead += r.kind == "dead"
            deferred += r.kind == "deferred"
            continue
        rows += rows_of(t, r)
    return rows, dead, deferred


def agreement_rows(pairs: list[tuple[int, int]]) -> list[dict]:
    """Overall and per-strategy agreement between (rewrite label, annotator label) pairs."""
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    overall = agreement(a, b)
    rows = [{"scope": "overall", "strategy_id": None, "n": overall.n,
             "accuracy": overall.accuracy, "kappa": overall.kappa}]
    for sid, ag in per_label(a, b, [s.id for s in STRATEGIES]).items():
        rows.append({"scope": "strategy", "strategy_id": sid, "n": ag.n,
                     "accuracy": ag.accuracy, "kappa": ag.kappa})
    return rows
