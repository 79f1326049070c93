"""Read a role's input out of the chat messages.

The input is the fenced ```json block that ends the conversation's original user message (the
first user message; a re-ask comes later and holds only the error). The block is found by
decoding JSON, not by pattern: a turn may itself hold ``` , a JSON object or a <think> tag,
and a reader that stops at the first fence it meets loses the dialogue. What cannot be read
raises `Unreadable`, because a stand-in that answers about a dialogue it never saw invents one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from csc.language import detect
from csc.speakers import role_of
from schemas.llm import INPUT_OF, DialogueInput, Role

_FENCE = "```"
_HEADER = re.compile(r"```[ \t]*(?:[A-Za-z]+)?[ \t]*\r?\n?")  # ``` , ```json , ```JSON\n
_SPACE = re.compile(r"\s*")
_CLOSE = re.compile(r"\s*```")
_DECODER = json.JSONDecoder()


class Unreadable(ValueError):
    """The prompt holds no input this role can work on; the reason says what was missing."""


def message_text(message: Any) -> str:
    """The text of one chat message; content may be a string or a list of parts."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content
                         if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def input_text(messages: list[Any]) -> str:
    """The conversation's original user message, which holds the task and its input.

    Everything after it is the conversation going on about that input: the gateway's re-ask
    appends the unusable answer and a user message naming the error, and that message (which
    may quote the bad answer, JSON included) must never be read as a new input.
    """
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def original_messages(messages: list[Any]) -> list[Any]:
    """The conversation up to its original user message: all that shapes an answer. A re-ask
    of the same input is answered as the first ask would have been without its fault, as a
    deterministic model would; what follows (the bad answer, the error) changes nothing."""
    for i, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return messages[:i + 1]
    return messages


def _fenced_values(text: str) -> list[tuple[int, int, Any]]:
    """(start, end, value) of every fence whose body decodes as one JSON value directly
    followed by a closing fence."""
    found = []
    pos = text.find(_FENCE)
    while pos != -1:
        header = _HEADER.match(text, pos)
        start = _SPACE.match(text, header.end() if header else pos + 3).end()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            pass
        else:
            close = _CLOSE.match(text, end)
            if close:
                found.append((pos, close.end(), value))
        pos = text.find(_FENCE, pos + 1)
    return found


def extract_payload(text: str) -> Any:
    """The role's input in `text`: the whole text when it is JSON, else the last fenced JSON
    block that is not inside another one (a fence quoted in a turn's text sits inside the
    real block's span); None when there is none."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    found = _fenced_values(text)
    outer = [c for c in found
             if not any(o is not c and o[0] < c[0] and c[1] <= o[1] for o in found)]
    return outer[-1][2] if outer else None


def _turns(raw: Any) -> list[dict]:
    """Keep the turns that can be read; map speaker spellings onto customer/supporter by the
    shared speaker table (csc.speakers), as every other reader of speakers does."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        speaker = role_of(str(item.get("speaker", "")))
        if speaker is None:
            continue
        strategy = item.get("strategy")
        out.append({"speaker": speaker, "text": item["text"],
                    "strategy": strategy if isinstance(strategy, str) else None})
    return out


def _lenient(model: type[BaseModel], data: dict) -> BaseModel:
    """What a strict read refused, read field by field: odd speakers mapped, unreadable
    turns skipped, a missing language detected from the turns' own texts."""
    fixed: dict[str, Any] = {
        k: v for k, v in data.items()
        if k in model.model_fields and isinstance(v, str) and k != "language"}
    for key in ("dialogue", "history"):
        if key in model.model_fields:
            fixed[key] = _turns(data.get(key))
    said = " ".join(t["text"] for key in ("dialogue", "history") for t in fixed.get(key, []))
    language = data.get("language")
    fixed["language"] = language if language in ("zh", "en") else detect(said)
    try:
        return model.model_validate(fixed)
    except ValidationError as exc:
        raise Unreadable(f"the input does not fit {model.__name__}: "
                         f"{exc.errors()[0]['msg']}") from None


def read_input(role: Role, payload: Any) -> BaseModel:
    """The role's input model from `payload`, or Unreadable: no JSON object, or (for the roles
    that work on a dialogue) no turn that can be read."""
    if not isinstance(payload, dict):
        raise Unreadable("the first user message holds no JSON object as a fenced ```json "
                         "block (nor is it one)")
    model = INPUT_OF[role]
    try:
        inp = model.model_validate(payload)
    except ValidationError:
        inp = _lenient(model, payload)
    if isinstance(inp, DialogueInput) and not inp.dialogue:
        raise Unreadable("the input's 'dialogue' holds no turn with a known speaker and a text")
    return inp
