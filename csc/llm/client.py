"""The openai SDK client the gateway sends every call through; the benchmarks' raw-SDK floors
use the same one, so a ratio compares the gateway's work and nothing else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import openai


def sdk_client(base_url: str, api_key: str) -> openai.AsyncOpenAI:
    """An AsyncOpenAI on the SDK's aiohttp transport (the `openai[aiohttp]` extra, which the
    SDK documents for highly concurrent use). Its default httpx pool looks at every open
    connection for each request it places; at 64 in flight that cost ~1 ms of client CPU per
    call on this project's 2-core machine (bench/llm_overhead.py), and the client's CPU is
    part of a stage's wall time. Proxies from the environment are honoured as before. No SDK
    retries: the gateway owns retrying. Create it on the event loop that uses it."""
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0,
                              http_client=openai.DefaultAioHttpClient())


_OPTIONS = {"timeout": "timeout", "extra_headers": "headers"}


@dataclass(frozen=True)
class Completion:
    """What the gateway reads from a chat completion."""

    content: str
    reasoning: str | None  # `reasoning_content`, which reasoning models send beside content
    usage: tuple[int, int, int]  # prompt, completion and reasoning tokens (0 when not sent)


class UnreadableCompletion(ValueError):
    """A 2xx answer that is not a chat completion with a choice; the gateway retries it."""


async def create_chat_completion(client: openai.AsyncOpenAI, params: dict[str, Any]
                                 ) -> Completion:
    """What `client.chat.completions.create(**params)` sends, through the SDK's own `post`:
    the same body, headers, auth and error classes (an error status still raises the SDK's
    `APIStatusError` family).

    Two walks of `create` are skipped. It first runs its request TypedDicts over every
    argument (a union of six message types per message) to turn typed arguments into JSON,
    and then builds a pydantic `ChatCompletion` from the answer. The gateway's body is JSON
    already and it reads three fields of the answer; the two walks were about a third of the
    client's CPU per call in bench/rolecs.py, where the client's event loop is what limits a
    stage at 64 calls in flight. `params` takes `create`'s keywords: `timeout` and
    `extra_headers` become request options."""
    body = {k: v for k, v in params.items() if k not in _OPTIONS}
    options: dict[str, Any] = {"security": {"bearer_auth": True}}
    for key, option in _OPTIONS.items():
        if key in params:
            options[option] = params[key]
    raw = await client.post("/chat/completions", body=body, cast_to=bytes,
                            options=options)  # type: ignore[arg-type]
    return read_completion(raw)


def read_completion(raw: bytes) -> Completion:
    """The first choice's content and reasoning and the usage of a chat completion body, read
    as leniently as the SDK's own models read it: a missing or null field is empty."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise UnreadableCompletion("the answer was not JSON") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    msg = first.get("message") if isinstance(first, dict) else None
    if not isinstance(msg, dict):
        raise UnreadableCompletion("the answer had no choices")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    details = usage.get("completion_tokens_details")
    reasoning_tokens = details.get("reasoning_tokens") if isinstance(details, dict) else 0
    content, reasoning = msg.get("content"), msg.get("reasoning_content")
    return Completion(
        content if isinstance(content, str) else "",
        reasoning if isinstance(reasoning, str) and reasoning else None,
        (_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
         _count(reasoning_tokens)))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
