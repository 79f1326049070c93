"""The openai SDK client the gateway sends every call through; the benchmarks' raw-SDK floors
use the same one, so a ratio compares the gateway's work and nothing else."""

from __future__ import annotations

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
