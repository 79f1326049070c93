"""Get JSON out of what models actually answer, then hold it to a strict pydantic type.

Models wrap JSON in code fences, put prose around it, add `//` comments and trailing commas,
write full-width punctuation around keys, or think aloud in <think> blocks first. Extraction is
tolerant; validation is not.

Candidates come outermost first: the whole answer, then fenced blocks, then bracketed spans.
What lies inside a readable JSON value (a ```json block or brackets quoted in a turn's text)
is that value's content and never a candidate of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

T = TypeVar("T")

_THINK_OPEN = re.compile(r"\s*<think>", re.I)
_THINK_CLOSE = re.compile(r"</think>", re.I)
_THINK_ANY = re.compile(r"<think>", re.I)  # no match: nothing for split_reasoning to do
# A fence opens with ``` and an optional language tag; its body runs to the next ``` (that
# is not inside a JSON value: see _fence_bodies).
_FENCE_OPEN = re.compile(r"```[ \t]*(?:jsonc|json|JSON)?[ \t]*\n?")
# Full-width punctuation that models put around keys and between items.
_FULLWIDTH_SYNTAX = {"：": ":", "，": ",", "｛": "{", "｝": "}", "［": "[", "］": "]"}


class ParseError(ValueError):
    """The answer holds no JSON we can read, or it does not fit the expected type."""


@dataclass(frozen=True)
class Split:
    answer: str
    reasoning: str | None


def split_reasoning(content: str, reasoning_content: str | None = None) -> Split:
    """Separate a model's reasoning (reasoning_content, or <think>...</think>) from its answer.

    A <think> block is reasoning at the start of the answer (unclosed there: all the rest is
    reasoning), or as a whole block outside any JSON. Inside a JSON value - a string such as
    "your bot wrote <think>x</think>" - the tags are text and stay in the answer.
    """
    content = content or ""
    if _THINK_ANY.search(content) is None:  # the usual answer: no tag to look for, char by char
        return Split(content.strip(), reasoning_content or None)
    parts = [reasoning_content] if reasoning_content else []
    while (m := _THINK_OPEN.match(content)) is not None:
        close = _THINK_CLOSE.search(content, m.end())
        if close is None:
            parts.append(content[m.end():].strip())
            content = ""
        else:
            parts.append(content[m.end():close.start()].strip())
            content = content[close.end():]
    kept: list[str] = []
    last = 0
    for start, end, inner in _think_blocks_outside_json(content):
        kept.append(content[last:start])
        parts.append(inner.strip())
        last = end
    kept.append(content[last:])
    return Split("".join(kept).strip(), "\n\n".join(parts) if parts else None)


def _think_blocks_outside_json(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, inside) of each closed <think>...</think> block outside brackets.

    Quotes count as strings only inside brackets: in prose an apostrophe-like '"' opens
    nothing. A block is only taken whole; an unclosed tag here is left as text.
    """
    depth, in_str, i, n = 0, False, 0, len(text)
    while i < n:
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"' and depth > 0:
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth = max(0, depth - 1)
        elif depth == 0 and (m := _THINK_OPEN.match(text, i)) is not None:
            close = _THINK_CLOSE.search(text, m.end())
            if close is not None:
                yield i, close.end(), text[m.end():close.start()]
                i = close.end()
                continue
        i += 1


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


_QUOTES = '"“”'
# What a readable text can start with: JSON (NaN and Infinity included), a comment, or
# full-width syntax. Anything else (prose, a fence) is not read whole, which is slow to fail.
_JSON_START = frozenset('{["-0123456789tfnNI/｛［“”')
_OPEN, _CLOSE = "{[｛［", "}]｝］"
# What may follow a key or value: a string opened by '"' may be closed by '”' (or '“') only
# where one of these (after spaces) shows that the string has ended.
_AFTER_STRING = set(':,}]：，｝］')


def _string_end(text: str, i: int, fullwidth: bool, mixed: bool) -> int | None:
    """Index of the quote that closes the string opened at text[i], None if none does.

    ASCII JSON: a '"' string ends at the next unescaped '"'. With `fullwidth`, a string
    opened by '“' or '”' ends at the next quote of any kind (models close “ with ” or “
    alike). With `mixed` too, a '"' string may also end at a full-width quote that syntax
    follows ('"key”: 1').
    """
    ascii_open = text[i] == '"'
    j, n = i + 1, len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == '"' or (fullwidth and c in "“”" and not ascii_open):
            return j
        if mixed and c in "“”":
            k = j + 1
            while k < n and text[k] in " \t\r\n":
                k += 1
            if k == n or text[k] in _AFTER_STRING:
                return j
        j += 1
    return None


def _fix_fullwidth_outside_strings(text: str, mixed: bool = False) -> str:
    """Translate full-width quotes/colons/commas/brackets that stand where JSON syntax belongs.

    Only applied when the text fails to parse as is. Inside strings the same characters are
    content (Chinese text is full of '，' and '：'), so they are never touched there: only
    the quotes that open and close a string become '"', and a string runs as _string_end
    says. The JSON parser then sees the same strings, so whatever this changed lies outside
    every string value of the result.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _QUOTES:
            end = _string_end(text, i, True, mixed)
            if end is None:
                out.append(text[i:])  # an unterminated string: left as it is (unreadable)
                break
            out.append('"' + text[i + 1:end] + '"')
            i = end + 1
            continue
        out.append(_FULLWIDTH_SYNTAX.get(c, c))
        i += 1
    return "".join(out)


def _balanced_spans(text: str, fullwidth: bool = False,
                   mixed: bool = False) -> Iterator[tuple[int, int]]:
    """(start, end) of candidate JSON objects/arrays, left to right: each opening bracket to
    its matching close (text[start:end] is the span).

    After a closed span the scan goes on past its end (prose such as '[标准]' before the JSON
    is skipped, a broken object's insides are not offered); an opening bracket that never
    closes is passed over, so the scan goes on inside it. With `fullwidth`, full-width
    brackets and quotes count as well (strings as in _string_end).
    """
    opening, closing = (_OPEN, _CLOSE) if fullwidth else ("{[", "}]")
    quotes = _QUOTES if fullwidth else '"'
    start, n = 0, len(text)
    while start < n:
        if text[start] not in opening:
            start += 1
            continue
        depth, end = 0, start
        while end < n:
            c = text[end]
            if c in quotes:
                close = _string_end(text, end, fullwidth, mixed)
                if close is None:
                    end = n
                    break
                end = close
            elif c in opening:
                depth += 1
            elif c in closing:
                depth -= 1
                if depth == 0:
                    yield start, end + 1
                    start = end + 1
                    break
            end += 1
        if end >= n:
            start += 1


def _try_load(candidate: str) -> tuple[bool, Any]:
    variants = (
        lambda: candidate,
        lambda: _strip_comments_and_commas(candidate),
        lambda: _strip_comments_and_commas(_fix_fullwidth_outside_strings(candidate)),
        # mixed quotes ('"key”'): a '"' string closed by a full-width quote before syntax
        lambda: _strip_comments_and_commas(_fix_fullwidth_outside_strings(candidate, True)),
    )
    for variant in variants:
        try:
            return True, json.loads(variant())
        except json.JSONDecodeError:
            continue
    return False, None


def _inside(pos: int, spans: list[tuple[int, int, Any]]) -> bool:
    """Whether text[pos] lies within one of the readable `spans`, after its opening bracket."""
    return any(start < pos < end for start, end, _ in spans)


def _readable_spans(text: str) -> list[tuple[int, int, Any]]:
    """(start, end, value) of the readable outermost bracketed spans of `text`: ASCII brackets
    first, then full-width ones (then mixed quotes), each left to right.

    A span that starts inside another readable span is left out, whichever scan found it: it
    is that value's content (a bracket in a string such as "see [1, 2]", or a nested value),
    not a value of its own.
    """
    found: list[tuple[int, int, Any]] = []
    seen: set[tuple[int, int]] = set()
    for fullwidth, mixed in ((False, False), (True, False), (True, True)):
        for start, end in _balanced_spans(text, fullwidth, mixed):
            if (start, end) in seen:
                continue
            seen.add((start, end))
            ok, value = _try_load(text[start:end])
            if ok:
                found.append((start, end, value))
    return [span for span in found if not _inside(span[0], found)]


def _fence_bodies(text: str, spans: list[tuple[int, int, Any]]) -> Iterator[str]:
    """The body of each ``` fence in `text` whose markers lie outside the readable `spans`.

    A ``` inside a readable span is in one of its strings (or comments): text such as
    "I pasted: ```json ...```" in a turn. It neither opens nor closes a fence, so a fence
    quoted inside the answer's JSON is never taken for the answer, and a fence around the
    answer closes at its own closing marker, not at one inside a string.
    """
    pos = 0
    while (start := text.find("```", pos)) >= 0:
        pos = start + 3
        if _inside(start, spans):
            continue
        body = _FENCE_OPEN.match(text, start).end()  # type: ignore[union-attr]
        close = text.find("```", body)
        while close >= 0 and _inside(close, spans):
            close = text.find("```", close + 3)
        if close < 0:
            return
        yield text[body:close]
        pos = close + 3


def _candidates(text: str) -> Iterator[tuple[str, Any]]:
    """(candidate, value) of every readable JSON value in `text`, outermost first.

    The whole text, if it reads, is the only one: whatever lies inside it (a fenced block or
    brackets quoted in a string) is its content. Otherwise each fence's body (not one quoted
    inside a readable span), read the same way, then the readable outermost bracketed spans.
    """
    text = text.strip()
    if not text:
        return
    ok, value = _try_load(text) if text[0] in _JSON_START else (False, None)
    if ok:
        yield text, value
        return
    spans = _readable_spans(text)
    for body in _fence_bodies(text, spans):
        yield from _candidates(body)
    for start, end, value in spans:
        yield text[start:end], value


def _values(text: str) -> Iterator[Any]:
    """Every JSON value readable in the answer (reasoning split off), in the order
    _candidates gives, each distinct candidate once."""
    tried: set[str] = set()
    for candidate, value in _candidates(split_reasoning(text).answer):
        if candidate not in tried:
            tried.add(candidate)
            yield value


def _no_json(text: str) -> ParseError:
    snippet = split_reasoning(text).answer.strip().replace("\n", " ")[:120]
    return ParseError(f"no readable JSON in the answer (starts: {snippet!r})")


def extract_json(text: str) -> Any:
    """The first JSON value in `text`, tolerating fences, prose, comments, trailing commas."""
    for value in _values(text):
        return value
    raise _no_json(text)


def parse_as(text: str, type_: type[T]) -> T:
    """Extract JSON and validate it strictly against `type_` (a pydantic model or any type).

    Every JSON value in the answer is tried in order (prose such as 'turn [3]' may come
    first; see _candidates); the first that fits is the answer. When none fits, the error is
    the first's.
    """
    adapter = None if isinstance(type_, type) and issubclass(type_, BaseModel) \
        else TypeAdapter(type_)
    first: ValidationError | None = None
    for value in _values(text):
        try:
            if adapter is None:
                return type_.model_validate(value)  # type: ignore[attr-defined]
            return adapter.validate_python(value)
        except ValidationError as exc:
            first = first or exc
    if first is None:
        raise _no_json(text)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
        for e in first.errors()[:5])
    raise ParseError(f"JSON does not match {getattr(type_, '__name__', type_)}: "
                     f"{problems}") from None
