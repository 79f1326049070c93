"""Independent strategy annotation of supporter turns, for rewritten and raw dialogues alike.

The rewriter names its own strategies; a second, independent annotator labelling the same
turns measures how noisy those labels are, and labelling raw, unrewritten logs tells analysts
which strategies their real agents use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import duckdb

from csc.framework import STRATEGIES, normalise_label
from csc.kit.stage import LLMStage
from csc.llm.asking import Answer, request_for
from csc.llm.gateway import LLMFailure, LLMGateway, LLMRequest
from csc.llm.settings import LLMSettings
from csc.metrics.agreement import agreement, per_label
from csc.prompts import load_prompt
from schemas.csconv import CsconvAnnotation
from schemas.llm import Annotation, DialogueInput, InputTurn, Role
from warehouse.csconv_store import annotation_pending, target_turns, write_annotations

# The label_error of a supporter turn the annotator's answer left out. Such an annotation is
# incomplete: the target stays pending (sql/queries/annotate/pending_*.sql spell the same
# words) and its next answer replaces it whole.
NOT_LABELLED = "not labelled"


@dataclass(frozen=True)
class Target:
    kind: str  # csconv | raw
    target_id: str
    language: str
    turns: list[tuple[str, str]]  # (speaker, text)


def _payload(t: Target) -> DialogueInput:
    return DialogueInput(language=t.language,  # type: ignore[arg-type]
                         dialogue=[InputTurn(speaker=s, text=x) for s, x in t.turns])


def _request(t: Target) -> LLMRequest:
    """The request `label` sends for `t` (tests seed the cache with its key)."""
    return request_for(Role.ANNOTATOR, _payload(t), t.language, t.target_id)


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


@dataclass
class Labelled:
    """One target's outcome: kept (its answer), dead or deferred (no answer)."""

    target: Target
    status: str  # kept | dead | deferred
    answer: Answer | None = None
    error: str | None = None


async def label(gw: LLMGateway, t: Target) -> Labelled:
    """Ask the annotator about `t`.

    A target is here again when its stored annotation left a turn unlabelled. Its request is
    the same as last time, so the cache would hand back the same incomplete answer: such a
    cached answer is asked again past the cache, once. What comes back is written either way;
    if it is still incomplete, the target stays pending for the next run."""
    got = await gw.ask(Role.ANNOTATOR, _payload(t), t.language, t.target_id)
    if isinstance(got, Answer) and got.cached and incomplete(
            label_rows(t, got.value, got.model, got.prompt_version, "")):
        fresh = await gw.ask(Role.ANNOTATOR, _payload(t), t.language, t.target_id,
                             refresh=True)
        if isinstance(fresh, Answer):  # a failed re-ask keeps the cached answer's rows
            got = fresh
    if isinstance(got, LLMFailure):
        return Labelled(t, got.kind, error=got.error)
    return Labelled(t, "kept", got)


class AnnotationStage(LLMStage[Target, Labelled]):
    """Independent labels for the supporter turns of one kind of dialogue (csconv or raw)."""

    name = "annotate"
    roles = (Role.ANNOTATOR,)
    tables = ("csconv.annotations",)
    contracts: ClassVar[dict] = {"csconv.annotations": CsconvAnnotation}

    def __init__(self, settings: LLMSettings, kind: str) -> None:
        super().__init__(settings)
        if kind not in ("csconv", "raw"):
            raise ValueError(f"unknown annotation target kind {kind!r}")
        self.kind = kind

    @property
    def key(self) -> str:
        return f"annotate-{self.kind}"

    def version(self, language: str) -> str:
        """The annotator's prompt version: stored with each label, and, with the model, what
        makes an annotation current."""
        return load_prompt(Role.ANNOTATOR, language).version

    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        model = self.settings.role(Role.ANNOTATOR).model
        return annotation_pending(con, self.kind, language, version, model, limit)

    def load(self, con: duckdb.DuckDBPyConnection, language: str,
             ids: Sequence[str]) -> list[Target]:
        turns = target_turns(con, self.kind, list(ids))
        return [Target(self.kind, i, language, turns[i]) for i in ids if i in turns]

    async def process(self, gw: LLMGateway, item: Target) -> Labelled:
        return await label(gw, item)

    def rows(self, outcomes: list[Labelled], version: str, run_id: str
             ) -> dict[str, list[dict]]:
        rows: list[dict] = []
        for o in outcomes:
            if o.answer is not None:
                rows += label_rows(o.target, o.answer.value, o.answer.model,
                                   o.answer.prompt_version, run_id)
        return {"csconv.annotations": rows}

    def write(self, con: duckdb.DuckDBPyConnection, tables: dict[str, list[dict]]
              ) -> dict[str, int]:
        return {"csconv.annotations": write_annotations(con, tables["csconv.annotations"])}


# Bumped when agreement_rows computes differently: the same turns then measure anew.
AGREEMENT_VERSION = "1"


def measured_key(turns: Sequence[tuple[str, int, int, int]]) -> str:
    """What one agreement measurement measured: a hash of every compared turn (csconv_id,
    utt_index, rewrite label, annotator label) and of how it was computed. Equal keys give
    equal numbers, so a run whose key matches the newest stored one has nothing new to add
    (issue 16: a rerun adds no row)."""
    digest = hashlib.sha256(f"agreement-{AGREEMENT_VERSION}\n".encode())
    for csconv_id, utt_index, rewrite, annotator in sorted(turns):
        digest.update(f"{csconv_id}\t{utt_index}\t{rewrite}\t{annotator}\n".encode())
    return digest.hexdigest()[:16]


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
