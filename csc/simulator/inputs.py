"""Read a role's input out of the chat messages: the last ```json block of the last user
message that has one, validated leniently, because a simulator that crashes on odd input is
no stand-in."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from csc.simulator.labeller import detect_language
from schemas.llm import INPUT_OF, Role

_BLOCK = re.compile(r"```[ \t]*json[ \t]*\n?(.*?)```", re.S | re.I)
_CUSTOMER = {"customer", "客户", "user", "client", "顾客", "用户"}
_SUPPORTER = {"supporter", "客服", "agent", "assistant", "helpdesk", "staff", "坐席"}


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


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return message_text(messages[-1]) if messages else ""


def input_text(messages: list[Any]) -> str:
    """The user message that holds the role's input: the last one with a payload. A re-ask
    ("that was not valid JSON: ...") comes after it and holds none, yet a model answering it
    still answers about the conversation's dialogue."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            text = message_text(message)
            if extract_payload(text) is not None:
                return text
    return last_user_text(messages)


def extract_payload(text: str) -> Any:
    """The last fenced json block (or the whole text when it is JSON); None when absent."""
    blocks = _BLOCK.findall(text)
    for candidate in ([blocks[-1]] if blocks else []) + [text]:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _turns(raw: Any) -> list[dict]:
    """Keep the turns that can be read; map speaker spellings onto customer/supporter."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        speaker = str(item.get("speaker", "")).strip().lower()
        if speaker in _CUSTOMER:
            speaker = "customer"
        elif speaker in _SUPPORTER:
            speaker = "supporter"
        else:
            continue
        strategy = item.get("strategy")
        out.append({"speaker": speaker, "text": item["text"],
                    "strategy": strategy if isinstance(strategy, str) else None})
    return out


def read_input(role: Role, payload: Any, text: str) -> BaseModel:
    """The role's input model from `payload`; what cannot be read falls back to defaults."""
    model = INPUT_OF[role]
    data = payload if isinstance(payload, dict) else {}
    try:
        return model.model_validate(data)
    except ValidationError:
        pass
    fixed: dict[str, Any] = {
        k: v for k, v in data.items()
        if k in model.model_fields and isinstance(v, str) and k != "language"}
    language = data.get("language")
    fixed["language"] = language if language in ("zh", "en") else detect_language(text)
    for key in ("dialogue", "history"):
        if key in model.model_fields:
            fixed[key] = _turns(data.get(key))
    try:
        return model.model_validate(fixed)
    except ValidationError:
        minimal: dict[str, Any] = {"language": fixed["language"]}
        minimal.update({k: [] for k in ("dialogue", "history") if k in model.model_fields})
        return model.model_validate(minimal)
