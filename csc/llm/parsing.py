"""Get JSON out of what models actually answer, then hold it to a strict pydantic type.

Models wrap JSON in code fences, put prose around it, add `//` comments and trailing commas,
write full-width punctuation around keys, or think aloud in <think> blocks first. Extraction is
tolerant; validation is not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

T = TypeVar("T")

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```[ \t]*(?:jsonc|json|JSON)?[ \t]*\n?(.*?)```", re.S)
# Full-width punctuation that models put around keys and between items.
_FULLWIDTH = str.maketrans({"“": '"', "”": '"', "：": ":", "，": ",", "｛": "{", "｝": "}",
                            "［": "[", "］": "]"})
_FULLWIDTH_SYNTAX = {"：": ":", "，": ",", "｛": "{", "｝": "}", "［": "[", "］": "]"}


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
    """Remove // and /* */ comments and trailing commas, leaving string literals alone.

    A trailing comma is one that only whitespace or comments separate from a closing bracket
    ('"x", // last\n}'): it is dropped from the output when that bracket arrives.
    """
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
        else:
            if c in "]}":
                k = len(out) - 1
                while k >= 0 and out[k] in " \t\r\n":
                    k -= 1
                if k >= 0 and out[k] == ",":
                    del out[k]  # trailing comma
            out.append(c)
            i += 1
    return "".join(out)


def _fix_fullwidth_outside_strings(text: str) -> str:
    """Translate full-width quotes/colons/commas/brackets that stand where JSON syntax belongs.

    Only applied when the text fails to parse as is. Inside strings the same characters are
    content (Chinese text is full of '，' and '：'), so they are kept there: a string runs from
    an ASCII quote to the next unescaped ASCII quote, or from a full-width quote to the next
    quote of any kind (models close “ with ” or “ alike).
    """
    out: list[str] = []
    i, n = 0, len(text)
    closing: str | None = None  # characters that end the current string; None: outside
    while i < n:
        c = text[i]
        if closing is None:
            if c == '"':
                closing = '"'
                out.append(c)
            elif c in "“”":
                closing = '“”"'
                out.append('"')
            else:
                out.append(_FULLWIDTH_SYNTAX.get(c, c))
        elif c in closing:
            closing = None
            out.append('"')
        elif c == "\\" and i + 1 < n:
            out.append(text[i:i + 2])
            i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _balanced_spans(text: str) -> Iterator[str]:
    """Candidate JSON objects/arrays, left to right: each opening bracket to its matching close.

    After a closed span the scan goes on past its end (prose such as '[标准]' before the JSON
    is skipped, a broken object's insides are not offered); an opening bracket that never
    closes is passed over, so the scan goes on inside it.
    """
    start, n = 0, len(text)
    while start < n:
        if text[start] not in "{[":
            start += 1
            continue
        depth, in_str, esc = 0, False, False
        for end in range(start, n):
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
                    yield text[start:end + 1]
                    start = end + 1
                    break
        else:
            start += 1


def _try_load(candidate: str) -> tuple[bool, Any]:
    variants = (
        candidate,
        _strip_comments_and_commas(candidate),
        _strip_comments_and_commas(_fix_fullwidth_outside_strings(candidate)),
        # last resort: mixed quotes ('"key”') that only a blunt translation can pair up
        _strip_comments_and_commas(candidate.translate(_FULLWIDTH)),
    )
    for variant in variants:
        try:
            return True, json.loads(variant)
        except json.JSONDecodeError:
            continue
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
        for source in (candidate, _fix_fullwidth_outside_strings(candidate)):
            for span in _balanced_spans(source):
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
