"""The three fine-tuning formats, the assistant target, the token estimate, and the validator of
the OpenAI chat file.

The target of every supporter turn is the JSON object the evaluation's candidate prompt asks for
(`prompts/candidate.<language>.md`): `{"strategy": "<label>", "response": "<reply>"}`, the label
being `csc.framework.strategy_label` ('策略4 细化问题' in zh, 'Problem Refinement' in en). A model
trained on it answers the evaluation in the form `schemas.llm.CandidatePrediction` parses (its
strategy through `normalise_label`), so a fine-tuned model is scored on its strategies, not on
whether it found the answer format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from csc.framework import STRATEGIES, normalise_label, strategy_label

FORMATS = ("openai", "sharegpt", "instruction")

# The estimate (no tokenizer is installed; docs/finetune.md): one token per CJK character or
# full-width mark, 1.3 per other word, plus a fixed frame per message and per example. It errs
# high for Chinese (BPE vocabularies give about 0.7-1.3 tokens a character), so an example under
# the limit here is under it at the provider too.
TOKEN_ESTIMATE = "cjk_chars*1 + other_words*1.3 + 4/message + 3/example"
MESSAGE_TOKENS, EXAMPLE_TOKENS = 4, 3
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_OTHER_WORD = re.compile(f"[^\\s{_CJK}]+")


def estimate_tokens(text: str) -> int:
    """Estimated tokens of a text in any mix of Chinese and English."""
    cjk = len(_CJK_CHAR.findall(text))
    words = len(_OTHER_WORD.findall(text))
    return cjk + math.ceil(words * 1.3)


def messages_tokens(contents: Iterable[str]) -> int:
    """Estimated tokens of one example made of these messages (or fields)."""
    return EXAMPLE_TOKENS + sum(MESSAGE_TOKENS + estimate_tokens(c) for c in contents)


# -- the assistant target ---------------------------------------------------------------------

def target(strategy_id: int, reply: str, language: str) -> str:
    """What the model learns to write at a supporter turn: the candidate prompt's JSON."""
    return json.dumps({"strategy": strategy_label(strategy_id, language), "response": reply},
                      ensure_ascii=False)


def read_target(text: str) -> tuple[int, str]:
    """(strategy id, reply) of a target; ValueError saying what is wrong. The inverse of
    `target`, and what the validator holds every assistant message to."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("is not a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("is not a JSON object")
    strategy, reply = value.get("strategy"), value.get("response")
    if not isinstance(strategy, str) or not isinstance(reply, str):
        raise ValueError('needs string fields "strategy" and "response"')
    label = normalise_label(strategy)
    if not label.ok:
        raise ValueError(f"strategy {strategy!r} names no single strategy "
                         f"({label.error or 'several strategies'})")
    if not reply.strip():
        raise ValueError("has an empty response")
    return label.ids[0], reply


# -- what the model is told -------------------------------------------------------------------

def system_prompt(language: str) -> str:
    """The task in the dialogue's language: the 12 strategies by the labels the target uses,
    and the answer form. Short on purpose: it is repeated in every example."""
    labels = [strategy_label(s.id, language) for s in STRATEGIES]
    if language == "zh":
        return ("你是一名客服。每轮回复时，先从以下客服策略中选定一种：" + "、".join(labels)
                + '。只回答一个 JSON 对象：{"strategy": "<策略>", "response": "<你的回复>"}。')
    return ("You are a customer-support agent. At each of your turns, choose one of these "
            "support strategies: " + ", ".join(labels) + '. Answer with one JSON object: '
            '{"strategy": "<strategy>", "response": "<your reply>"}.')


def opening(language: str) -> str:
    """The user message put before a dialogue the supporter opens (a RoleCS dialogue starts
    with the Greeting): chat formats must start with the user."""
    return "（客户已接入）" if language == "zh" else "(The customer has joined the chat.)"


def instruction_text(language: str) -> str:
    if language == "zh":
        return system_prompt(language) + "\n请根据输入中的对话记录，写出客服的下一轮回复。"
    return system_prompt(language) + ("\nWrite the supporter's next turn for the conversation "
                                      "in the input.")


def history_line(speaker: str, strategy_id: int | None, text: str, language: str) -> str:
    """One earlier turn of an instruction example's input; supporter turns carry their
    strategy, as the method's task shows them (csc-method §1)."""
    if language == "zh":
        if speaker == "supporter":
            return f"客服【{strategy_label(strategy_id or 12, language)}】：{text}"
        return f"客户：{text}"
    if speaker == "supporter":
        return f"supporter [{strategy_label(strategy_id or 12, language)}]: {text}"
    return f"customer: {text}"


# -- the validator of the OpenAI chat file ----------------------------------------------------

ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a line of a chat file (line numbers from 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _message_problems(i: int, message: Any) -> list[str]:
    if not isinstance(message, dict):
        return [f"message {i} is not an object"]
    found = []
    role, content = message.get("role"), message.get("content")
    if role not in ROLES:
        found.append(f"message {i} has role {role!r}, not one of {', '.join(ROLES)}")
    if not isinstance(content, str):
        found.append(f"message {i} has no text content")
    elif not content.strip():
        found.append(f"message {i} ({role}) is empty")
    elif role == "assistant":
        try:
            read_target(content)
        except ValueError as exc:
            found.append(f"message {i} (assistant) {exc}")
    extra = sorted(set(message) - MESSAGE_KEYS)
    if extra:
        found.append(f"message {i} has unexpected keys {extra}")
    return found


def _order_problems(roles: list[Any]) -> list[str]:
    """System only first; then user, assistant, user, ... ending with the assistant."""
    found = []
    start = 1 if roles[:1] == ["system"] else 0
    for i in range(start, len(roles)):
        expected = "user" if (i - start) % 2 == 0 else "assistant"
        if roles[i] in ROLES and roles[i] != expected:
            found.append(f"message {i} is {roles[i]}, expected {expected} (system first, "
                         "then user and assistant alternating)")
            break  # every later message would be out of turn too
    if "assistant" not in roles:
        found.append("no assistant message to learn from")
    elif roles[-1] != "assistant":
        found.append(f"the last message is {roles[-1]}, not assistant")
    return found


def chat_line_problems(line: str, max_tokens: int) -> list[str]:
    """Every problem of one line of an OpenAI chat fine-tuning file."""
    if not line.strip():
        return ["empty line"]
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return [f"not JSON ({exc.msg})"]
    if not isinstance(record, dict):
        return ["not a JSON object"]
    found = [f"unexpected key {k!r}" for k in sorted(set(record) - {"messages"})]
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*found, "no messages"]
    for i, message in enumerate(messages):
        found += _message_problems(i, message)
    found += _order_problems([m.get("role") if isinstance(m, dict) else None
                              for m in messages])
    texts = [m["content"] for m in messages
             if isinstance(m, dict) and isinstance(m.get("content"), str)]
    tokens = messages_tokens(texts)
    if tokens > max_tokens:
        found.append(f"about {tokens} tokens, over the limit of {max_tokens}")
    return found


def validate_chat(text: str, max_tokens: int) -> list[Problem]:
    """Every problem of an OpenAI chat fine-tuning JSONL text, each with its line; [] when the
    file is fit to upload. A file with no line at all is a problem too."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start another
    if not lines:
        return [Problem(1, "the file has no example")]
    return [Problem(n, p) for n, line in enumerate(lines, start=1)
            for p in chat_line_problems(line, max_tokens)]
