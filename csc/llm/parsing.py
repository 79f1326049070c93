"""Get JSON out of what models actually answer, then hold it to a strict pydantic type.

Models wrap JSON in code fences, put prose around it, add `//` comments and trailing commas,
write full-width punctuation around keys, or think aloud in <think> blocks first. Extraction is
tolerant; validation is not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

T = TypeVar("T")

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|jsonc)?[ \t]*\n?(.*?)```", re.S)
# Full-width punctuation that models put around keys and between items.
_FULLWIDTH = str.maketrans({"“": '"', "”": '"', "：": ":", "，": ",", "｛": "{", "｝": "}",
                            "［": "[", "］": "]"})


class ParseError(ValueError):
    """The answer holds no JSON we can read, or it does not fit the expected type."""


@dataclass(frozen=True)
class Split:
    answer: str
    reasoning: str | None


def split_reasoning(content: str, reasoning_content: str | None = None) -> Split:
    """Separate a model's reasoning (reasoning_content, or <think>...</think>) from its answer."""
    parts = [reasoning_content] if reasoning_content else []
    found = _THINK.findall(content or "")
    if found:
        parts.extend(p.strip() for p in found)
        content = _THINK.sub("", content)
    return Split((content or "").strip(), "\n\n".join(parts) if parts else None)


def _strip_comments_and_commas(text: str) -> str:
    """Remove // and /* */ comments and trailing commas, leaving string literals alone."""
    out: list[str] = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "]}":
                i += 1  # trailing comma
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _fix_fullwidth_outside_strings(text: str) -> str:
    """Translate full-width quotes/colons/commas that stand where JSON syntax belongs.

    Only applied when the text fails to parse as is, because inside Chinese strings the same
    characters are content.
    """
    return text.translate(_FULLWIDTH)


def _balanced_spans(text: str) -> list[str]:
    """Candidate JSON objects/arrays: from each opening bracket to its matching close."""
    spans: list[str] = []
    for start, ch in enumerate(text):
        if ch not in "{[":
            continue
        depth, in_str, esc = 0, False, False
        for end in range(start, len(text)):
            c = text[end]
            if in_str:
                if esc:
                    esc = False
                elif c == "\\":
                    esc = True
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth == 0:
                    spans.append(text[start:end + 1])
                    break
        if spans:
            break
    return spans


def _try_load(candidate: str) -> tuple[bool, Any]:
    for variant in (candidate, _strip_comments_and_commas(candidate)):
        try:
            return True, json.loads(variant)
        except json.JSONDecodeError:
            continue
    fixed = _strip_comments_and_commas(_fix_fullwidth_outside_strings(candidate))
    try:
        return True, json.loads(fixed)
    except json.JSONDecodeError:
        return False, None


def extract_json(text: str) -> Any:
    """The first JSON value in `text`, tolerating fences, prose, comments, trailing commas."""
    body = split_reasoning(text).answer
    candidates = [m.strip() for m in _FENCE.findall(body)]
    candidates.append(body.strip())
    for candidate in candidates:
        if not candidate:
            continue
        ok, value = _try_load(candidate)
        if ok:
            return value
        for span in _balanced_spans(candidate) or _balanced_spans(
                _fix_fullwidth_outside_strings(candidate)):
            ok, value = _try_load(span)
            if ok:
                return value
    snippet = body.strip().replace("\n", " ")[:120]
    raise ParseError(f"no readable JSON in the answer (starts: {snippet!r})")


def parse_as(text: str, type_: type[T]) -> T:
    """Extract JSON and validate it strictly against `type_` (a pydantic model or any type)."""
    value = extract_json(text)
    try:
        if isinstance(type_, type) and issubclass(type_, BaseModel):
            return type_.model_validate(value)
        return TypeAdapter(type_).validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in exc.errors()[:5])
        raise ParseError(f"JSON does not match {getattr(type_, '__name__', type_)}: "
                         f"{problems}") from None
