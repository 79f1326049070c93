"""How an answer is dressed up or damaged: JSON text, code fences with comments, truncation,
<think> prefixes and multi-strategy labels. The fault *decisions* are made by the server; which
roles can take which fault follows from their answer types in schemas.llm.ROLES."""

from __future__ import annotations

import json
import random

from pydantic import BaseModel

from csc.llm.parsing import ParseError, parse_as
from schemas.llm import ROLES, Annotation, CandidatePrediction, RewrittenDialogue
from simulator.labeller import label_id, multi_label

# Answer types that carry per-turn strategy labels inject_multi_strategy can make multi; the
# roles answering one of them are the roles the multi-strategy fault applies to.
MULTI_TYPES = (RewrittenDialogue, Annotation, CandidatePrediction)
MULTI_ROLES = frozenset(role.value for role, spec in ROLES.items()
                        if issubclass(spec.answer, MULTI_TYPES))


def to_json(value: BaseModel) -> str:
    """Only the fields the role set: a verdict of `{"low_quality": true}` stays that shape."""
    return json.dumps(value.model_dump(mode="json", exclude_unset=True), ensure_ascii=False)


def _multi(label: str, language: str) -> str | None:
    """The multi-strategy form of a single label, in the dialogue's language (the language
    every label of a simulated answer is written in)."""
    sid = label_id(label)
    if sid is None:
        return None
    return multi_label(sid, language)


def inject_multi_strategy(value: BaseModel, rng: random.Random, language: str) -> BaseModel:
    """A copy of a rewriter/annotator/candidate answer with one label made multi-strategy."""
    if isinstance(value, CandidatePrediction):
        multi = _multi(value.strategy, language)
        return value.model_copy(update={"strategy": multi}) if multi else value
    if isinstance(value, Annotation):
        spots = [i for i, lab in enumerate(value.labels) if _multi(lab.strategy, language)]
        if not spots:
            return value
        i = rng.choice(spots)
        labels = list(value.labels)
        labels[i] = labels[i].model_copy(
            update={"strategy": _multi(labels[i].strategy, language)})
        return Annotation(labels=labels)
    if isinstance(value, RewrittenDialogue):
        turns = list(value.root)
        spots = [i for i, t in enumerate(turns) if t.strategy and _multi(t.strategy, language)]
        if not spots:
            return value
        i = rng.choice(spots)
        turns[i] = turns[i].model_copy(update={"strategy": _multi(turns[i].strategy, language)})
        return RewrittenDialogue(turns)
    return value


def fenced(value: BaseModel, language: str) -> str:
    """The JSON inside ```json fences, with // comments, a trailing comma and a line of prose
    around it: what chat models often answer, and what the client must still read."""
    lines = json.dumps(value.model_dump(mode="json", exclude_unset=True), ensure_ascii=False,
                       indent=2).split("\n")
    if len(lines) >= 3:
        lines[-2] += ","
        lines.insert(1, "  // " + ("以下为结果" if language == "zh" else "the result follows"))
    lines[0] += "  // simulator"
    prose = "结果如下：" if language == "zh" else "Here is the answer:"
    return prose + "\n```json\n" + "\n".join(lines) + "\n```\n"


def _readable(text: str, type_: type) -> bool:
    try:
        parse_as(text, type_)
    except ParseError:
        return False
    return True


def malformed(text: str, type_: type, rng: random.Random) -> str:
    """`text` cut in half or with a key's closing quote dropped, checked to be unreadable for
    the client's tolerant parser (else cut harder)."""
    key_end = text.find('":')
    if key_end > 0 and rng.random() < 0.5:
        broken = text[:key_end] + text[key_end + 1:]
    else:
        broken = text[: max(1, len(text) // 2)]
    for candidate in (broken, text[: max(1, len(text) // 4)]):
        if not _readable(candidate, type_):
            return candidate
    return '{"'


def with_think(content: str, reasoning: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{content}"
