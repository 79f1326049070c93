"""The OpenAI-compatible HTTP face of the simulator (Starlette, one event loop).

Fault decisions come from one seeded random stream advanced per request, so a retry can
succeed; answer content is a pure function of (seed, role, messages), so the same request
always gets the same answer. Handlers stay light and never block the loop: latency and hangs
are `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas.llm import ROLE_HEADER, ROLES, Role
from simulator import faults as fx
from simulator.config import SimConfig
from simulator.finetuning import ROUTES as FINE_TUNING_ROUTES
from simulator.finetuning import FineTuning
from simulator.inputs import (
    Unreadable,
    extract_payload,
    input_text,
    message_text,
    original_messages,
    read_input,
)
from simulator.requestlog import RequestLog, messages_digest, open_request_log
from simulator.responders import respond

MODEL_PREFIX = "sim-"
MODELS = [f"{MODEL_PREFIX}{r.value}" for r in Role] + [f"{MODEL_PREFIX}default"]
_ROLES = {r.value: r for r in ROLES}  # the roles the simulator answers, by name
UNREADABLE = "unreadable_input"  # the error code of a prompt whose input cannot be read
_sleep = asyncio.sleep  # bound at import, immune to a test's patch of asyncio.sleep
_REASONING = {
    "zh": "先读懂输入中的对话和要求，再按这个角色规定的输出格式作答。",
    "en": "Read the input dialogue and the task, then answer in this role's output format.",
}


@dataclass(frozen=True)
class Faults:
    status: int  # 200, 429 or 500
    hang: bool
    malformed: bool
    fenced: bool
    reasoning: str | None  # None, "field" (reasoning_content) or "think" (<think> prefix)
    multi: bool
    delay_s: float


class SimState:
    """Config, the fault stream, the counters behind /sim/stats and the request log."""

    def __init__(self, config: SimConfig, log: RequestLog | None = None) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.log = log
        self.reset()

    def note(self, model: object, role_name: str | None, messages: object,
             faults: list[str], rejected: int | None = None) -> None:
        """One line in the request log, if there is one: what was asked and what was done
        to it. `rejected` is the status of a request refused before any fault was drawn."""
        if self.log is None:
            return
        self.log.write({"model": model if isinstance(model, str) else None,
                        "role": role_name if role_name in _ROLES else None,
                        "role_asked": role_name, "messages_sha256": messages_digest(messages),
                        "faults": faults, "fault_injected": bool(faults),
                        "rejected": rejected})

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def reset(self) -> None:
        """Zero the counters and restart the fault stream from the seed."""
        self.rng = random.Random(self.config.seed)
        self.requests = self.in_flight = self.max_in_flight = 0
        self.by_status: Counter[str] = Counter()
        self.by_role: Counter[str] = Counter()

    def configure(self, fields: dict[str, Any]) -> SimConfig:
        config = self.config.merged(fields)
        if config.seed != self.config.seed:
            self.rng = random.Random(config.seed)
        self.config = config
        return config

    def draw(self) -> Faults:
        """One request's faults: always the same number of draws, so streams stay aligned."""
        c, u = self.config, [self.rng.random() for _ in range(9)]
        status = 429 if u[0] < c.rate_429 else 500 if u[1] < c.rate_500 else 200
        return Faults(
            status=status, hang=status == 200 and u[2] < c.rate_hang,
            malformed=u[3] < c.rate_malformed, fenced=u[4] < c.rate_fenced,
            reasoning=("field" if u[6] < 0.5 else "think") if u[5] < c.rate_reasoning else None,
            multi=u[7] < c.rate_multi_strategy,
            delay_s=(c.latency_ms + u[8] * c.latency_jitter_ms) / 1000.0)

    def injected(self, f: Faults, role_name: str) -> list[str]:
        """The faults `f` puts on this request's answer, by name (empty: a clean answer)."""
        if f.status != 200:
            return [str(f.status)]
        names = [name for name, on in (
            ("hang", f.hang), ("malformed", f.malformed and role_name in _ROLES),
            ("fenced", f.fenced), ("multi_strategy", f.multi and role_name in fx.MULTI_ROLES))
            if on]
        return names + ([f"reasoning_{f.reasoning}"] if f.reasoning else [])

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight, "by_status": dict(self.by_status),
                "by_role": dict(self.by_role), "config": self.config.model_dump()}


def error(status: int, message: str, type_: str, code: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    """An OpenAI-style error body."""
    return JSONResponse({"error": {"message": message, "type": type_, "param": None,
                                   "code": code}}, status_code=status, headers=headers)


def _content_rng(seed: int, role: str, messages: list[Any]) -> tuple[str, random.Random]:
    blob = json.dumps([seed, role, messages], ensure_ascii=False, sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    return digest, random.Random(int(digest[:16], 16))


def build_answer(state: SimState, role_name: str, messages: list[Any],
                 f: Faults) -> tuple[str, str | None, str]:
    """(content, reasoning_content, digest) for one request: the pure answer, then faults.
    Raises Unreadable when the role's input cannot be read from the prompt."""
    seed = state.config.seed
    digest, rng = _content_rng(seed, role_name, original_messages(messages))
    role = _ROLES.get(role_name)
    inp = read_input(role, extract_payload(input_text(messages))) if role else None
    answer = respond(role, inp, rng, seed, role_name)
    language = getattr(inp, "language", "en")
    value = answer.value
    if isinstance(value, BaseModel):
        if f.multi and role_name in fx.MULTI_ROLES:
            value = fx.inject_multi_strategy(value, state.rng, language)
        content = fx.fenced(value, language) if f.fenced else fx.to_json(value)
        if f.malformed and role is not None:
            content = fx.malformed(content, ROLES[role].answer, state.rng)
    else:
        content = value
    if f.reasoning == "think":  # the reasoning moves into the content, as such models send it
        content = fx.with_think(content, answer.reasoning or _REASONING[language])
        return content, None, digest
    return content, answer.reasoning or (_REASONING[language] if f.reasoning else None), digest


async def _hang(request: Request, seconds: float) -> bool:
    """Sleep like a stuck upstream; stop early (True) once the client has gone."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        await _sleep(min(0.2, left))
        if await request.is_disconnected():
            return True
    return False


def _completion(model: str, content: str, reasoning: str | None, digest: str,
                messages: list[Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    thought = reasoning or ""
    if reasoning:
        message["reasoning_content"] = reasoning
    elif content.startswith("<think>"):
        thought = content[: content.find("</think>") + 8]
    prompt = sum(len(message_text(m)) for m in messages)
    completion = max(1, (len(content) + len(reasoning or "")) // 2)
    return {
        "id": f"chatcmpl-sim-{digest[:24]}", "object": "chat.completion",
        "created": int(time.time()), "model": model, "system_fingerprint": "csc-simulator",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": {"prompt_tokens": max(1, prompt // 2), "completion_tokens": completion,
                  "total_tokens": max(1, prompt // 2) + completion,
                  "completion_tokens_details": {"reasoning_tokens": len(thought) // 2}},
    }


async def chat_completions(request: Request) -> Response:
    state: SimState = request.app.state.sim
    state.requests += 1
    state.in_flight += 1
    state.max_in_flight = max(state.max_in_flight, state.in_flight)
    response: Response = error(500, "simulator failure", "server_error")
    try:
        response = await _chat(request, state)
        return response
    finally:
        state.in_flight -= 1
        state.by_status[str(response.status_code)] += 1


def _refusal(body: Any) -> Response | None:
    """The error for a request the simulator cannot take at all, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return error(400, "'model' is required", "invalid_request_error", "missing_model")
    model = body["model"]
    if not model.startswith(MODEL_PREFIX):
        return error(404, f"The model '{model}' does not exist: this offline simulator serves "
                          f"only models named {MODEL_PREFIX}*", "invalid_request_error",
                     "model_not_found")
    if body.get("stream"):
        return error(400, "the simulator does not stream; send stream=false",
                     "invalid_request_error", "stream_unsupported")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error(400, "'messages' must be a non-empty list", "invalid_request_error")
    return None


async def _chat(request: Request, state: SimState) -> Response:
    try:
        body = await request.json()
    except ValueError:
        state.note(None, None, None, [], rejected=400)
        return error(400, "the request body is not JSON", "invalid_request_error")
    refused = _refusal(body)
    if refused is not None:
        state.note(body.get("model") if isinstance(body, dict) else None, None,
                   body.get("messages") if isinstance(body, dict) else None, [],
                   rejected=refused.status_code)
        return refused
    model, messages = body["model"], body["messages"]
    role_name = (request.headers.get(ROLE_HEADER) or model[len(MODEL_PREFIX):]).strip()
    state.by_role[role_name] += 1
    f = state.draw()
    state.note(model, role_name, messages, state.injected(f, role_name))
    if f.delay_s > 0:
        await _sleep(f.delay_s)
    if f.status == 429:
        retry = f"{state.config.retry_after_s:g}"
        return error(429, "simulated rate limit, retry later", "rate_limit_error",
                     "rate_limit_exceeded", headers={"Retry-After": retry})
    if f.status == 500:
        return error(500, "simulated server error", "server_error")
    if f.hang and await _hang(request, state.config.hang_s):
        return Response(status_code=499)  # the client gave up; nobody reads this
    try:
        content, reasoning, digest = build_answer(state, role_name, messages, f)
    except Unreadable as exc:  # an honest refusal, never an answer about an invented dialogue
        return error(400, f"the simulator could not read the {role_name} input: {exc}",
                     "invalid_request_error", UNREADABLE)
    return JSONResponse(_completion(model, content, reasoning, digest, messages))


async def list_models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [
        {"id": m, "object": "model", "created": 0, "owned_by": "csc-simulator"} for m in MODELS]})


async def get_model(request: Request) -> Response:
    model = request.path_params["model"]
    if not model.startswith(MODEL_PREFIX):
        return error(404, f"The model '{model}' does not exist", "invalid_request_error",
                     "model_not_found")
    return JSONResponse({"id": model, "object": "model", "created": 0,
                         "owned_by": "csc-simulator"})


async def sim_stats(request: Request) -> Response:
    return JSONResponse(request.app.state.sim.stats())


async def sim_config(request: Request) -> Response:
    try:
        fields = await request.json()
        if not isinstance(fields, dict):
            raise ValueError("send a JSON object of SimConfig fields")
        config = request.app.state.sim.configure(fields)
    except (ValueError, ValidationError) as exc:
        return error(400, str(exc), "invalid_request_error")
    return JSONResponse(config.model_dump())


async def sim_reset(request: Request) -> Response:
    request.app.state.sim.reset()
    return JSONResponse({"ok": True})


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app(config: SimConfig | None = None,
               request_log: str | Path | None = None) -> Starlette:
    """The simulator's app; `request_log` (else $CSC_SIMULATOR_REQUEST_LOG) names the file
    that gets a line per chat-completions request."""
    app = Starlette(routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/sim/stats", sim_stats, methods=["GET"]),
        Route("/sim/config", sim_config, methods=["POST"]),
        Route("/sim/reset", sim_reset, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        *FINE_TUNING_ROUTES,  # files and fine-tuning jobs: simulator/finetuning.py
    ])
    app.state.sim = SimState(config or SimConfig(), open_request_log(request_log))
    app.state.fine_tuning = FineTuning()
    return app
