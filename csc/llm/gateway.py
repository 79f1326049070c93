"""The one way LLM calls are made: the official async `openai` SDK plus what production needs.

Per call: cache lookup -> rate and concurrency limits -> request -> retry transport failures
(429 honouring Retry-After, 5xx, timeouts, connection errors) with exponential back-off and
jitter -> split reasoning from the answer -> parse and validate -> re-ask with the validation
error -> cache the good answer and log the call. A call that still fails is dead-lettered with
its reason; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from pydantic import BaseModel

from csc.errors import RuntimeFailure
from csc.llm.asking import Answer, ask
from csc.llm.client import UnreadableCompletion, create_chat_completion, sdk_client
from csc.llm.journal import Cached, CallRow, DeadLetterRow, Journal
from csc.llm.limits import AdaptiveLimiter, RateLimiter
from csc.llm.parsing import ParseError, parse_as, split_reasoning
from csc.llm.settings import LLMSettings, RoleSettings
from csc.progress import SilenceWatch, money
from schemas.llm import ROLE_HEADER, Role

log = logging.getLogger("csc.llm")

REASK = ("Your previous answer could not be used: {error}. Reply again with only the JSON "
         "the instructions ask for, nothing else.")


class BudgetExceeded(RuntimeFailure):
    """The run's cost cap is reached; the stage stops taking new work."""


class EndpointError(RuntimeFailure):
    """The endpoint refuses us as configured (bad key, unknown model): no item can succeed."""


class DeadLetter(RuntimeFailure):
    """This item failed for good; it is in the dead-letter table with the reason."""


class UnusableAnswer(DeadLetter):
    """The endpoint answered, but no answer could be read, re-asks included: for a model
    under evaluation that is the model's failure (counted), not the endpoint's."""


@dataclass(frozen=True)
class LLMRequest:
    role: Role
    messages: list[dict[str, str]]
    item_key: str  # what the answer is for (a dialogue id, ...): the dead-letter key
    prompt_version: str
    response_type: type[BaseModel] | None = None  # None: plain text


@dataclass
class LLMResult:
    item_key: str
    value: Any
    content: str
    reasoning: str | None
    cached: bool
    attempts: int
    reasks: int


@dataclass
class LLMFailure:
    item_key: str
    error: str
    kind: str  # "dead": dead-lettered; "deferred": not attempted (budget), retried next run
    unusable: bool = False  # dead because every answer was unreadable (UnusableAnswer)


@dataclass
class GatewayStats:
    calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    dead: int = 0
    deferred: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    by_role: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def cache_key(settings: LLMSettings, req: LLMRequest) -> str:
    role = settings.role(req.role)
    blob = json.dumps({
        "endpoint": settings.endpoint_identity, "model": role.model, "messages": req.messages,
        "temperature": role.temperature, "max_tokens": role.max_tokens,
        "prompt_version": req.prompt_version,
        "response": req.response_type.__name__ if req.response_type else "text",
    }, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def endpoint_name(settings: LLMSettings) -> str:
    """The endpoint as a person can recognise it: its URL without credentials or query."""
    parts = urlsplit(settings.base_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    name = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", "")) or "the endpoint"
    return f"{name} (simulator)" if settings.uses_simulator else name


def _retry_after(exc: openai.APIStatusError) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


class LLMGateway:
    def __init__(self, settings: LLMSettings, journal: Journal, *, run_id: str, stage: str,
                 refresh: bool = False, use_cache: bool = True,
                 client: openai.AsyncOpenAI | None = None, silence_every: float = 15.0) -> None:
        if settings.base_url == "simulator":
            raise ValueError("resolve the simulator to its URL first (csc.llm.endpoint)")
        self.settings = settings
        self.journal = journal
        self.run_id = run_id
        self.stage = stage
        self.refresh = refresh
        self.use_cache = use_cache
        self.stats = GatewayStats()
        self.limiter = AdaptiveLimiter(settings.concurrency)
        self.rate = RateLimiter(settings.rpm, settings.tpm)
        self.client = client or sdk_client(settings.base_url, settings.api_key)
        self._budget_logged = False
        # Requests in flight by cache key: an identical request waits for the first one's
        # answer instead of being sent again (many dialogues open with the same prompt).
        self._in_flight: dict[str, asyncio.Future] = {}
        # Each role's template per language, read once for this gateway (csc.llm.asking).
        self.templates: dict = {}
        # Call ids: a random prefix per gateway and a counter, unique like uuid4().hex (32 hex
        # digits) without a system call (os.urandom) on the event loop for every call.
        self._call_prefix = uuid.uuid4().hex[:24]
        self._call_count = itertools.count()
        # Says which endpoint has answered nothing for `silence_every` s while requests wait.
        self.silence = SilenceWatch(self._redact(endpoint_name(settings)), silence_every,
                                    say=lambda message: log.warning("%s", message))
        self._watchdog: asyncio.Task | None = None
        # The cap is per run, and a run spans many batch tasks (each with its own gateway).
        self._spent_before = journal.run_cost(run_id) if settings.budget_usd is not None else 0.0

    # -- secrets -----------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if key and len(key) >= 4 else text

    # -- one call ------------------------------------------------------------------------------
    async def call(self, req: LLMRequest, *, refresh: bool | None = None) -> LLMResult:
        """Answer one request, or raise DeadLetter / BudgetExceeded / EndpointError."""
        role = self.settings.role(req.role)
        key = cache_key(self.settings, req)
        cached = self.use_cache and not (self.refresh if refresh is None else refresh)
        if not cached:
            return await self._ask_endpoint(req, key, role)
        result = await self._cached(req, key)
        while result is None and key in self._in_flight:  # another waiter asks again first
            result = await self._cached(req, key)
        if result is not None:
            return result
        self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            return await self._ask_endpoint(req, key, role)
        finally:
            self._in_flight.pop(key).set_result(None)

    async def _cached(self, req: LLMRequest, key: str) -> LLMResult | None:
        """The cached answer, waiting first for an identical request in flight (its answer is
        cached when it returns; when it failed, the caller asks on its own)."""
        waiting = self._in_flight.get(key)
        if waiting is not None:
            await asyncio.shield(waiting)
        hit = self.journal.get(key)
        return self._from_cache(req, key, hit) if hit is not None else None

    async def _ask_endpoint(self, req: LLMRequest, key: str, role: RoleSettings) -> LLMResult:
        self.stats.cache_misses += 1
        spent = self._spent_before + self.stats.cost_usd
        if self.settings.budget_usd is not None and spent >= self.settings.budget_usd:
            raise BudgetExceeded(
                f"cost cap of {money(self.settings.budget_usd)} reached "
                f"({money(spent)} spent this run)")
        messages = list(req.messages)
        started = time.monotonic()
        attempts = reasks = 0
        usage = [0, 0, 0]
        last_error = ""
        while True:
            try:
                content, reasoning, tries, used = await self._transport(req.role, messages,
                                                                        role)
            except (_TransportGaveUp, _ItemRejected) as exc:
                attempts += exc.attempts
                raise DeadLetter(self._record_dead(req, key, str(exc), attempts, reasks, usage,
                                                   started)) from None
            attempts += tries
            for i in range(3):
                usage[i] += used[i]
            split = split_reasoning(content, reasoning)
            try:
                value = parse_as(split.answer, req.response_type) if req.response_type \
                    else split.answer
                break
            except ParseError as exc:
                last_error = str(exc)
                if reasks >= self.settings.max_reasks:
                    raise UnusableAnswer(self._record_dead(
                        req, key, f"unusable answer after {reasks} re-asks: {last_error}",
                        attempts, reasks, usage, started)) from None
                reasks += 1
                messages = [*messages, {"role": "assistant", "content": content},
                            {"role": "user", "content": REASK.format(error=last_error)}]
        cost = self.settings.price(role.model).cost(usage[0], usage[1])
        answer = Cached(role.model, split.answer, split.reasoning, *usage)
        self._account(req, key, "ok", usage, cost, attempts, reasks, started, None,
                      answer if self.use_cache else None)
        return LLMResult(req.item_key, value, split.answer, split.reasoning, False, attempts,
                         reasks)

    def _from_cache(self, req: LLMRequest, key: str, hit: Cached) -> LLMResult | None:
        try:
            value = parse_as(hit.content, req.response_type) if req.response_type \
                else hit.content
        except ParseError:
            return None  # the contract changed since; ask again
        self.stats.cache_hits += 1
        usage = [hit.input_tokens, hit.output_tokens, hit.reasoning_tokens]
        self._account(req, key, "cached", usage, 0.0, 0, 0, time.monotonic(), None, None)
        return LLMResult(req.item_key, value, hit.content, hit.reasoning, True, 0, 0)

    async def _transport(self, role_name: Role, messages: list[dict],
                         role) -> tuple[str, str | None, int, tuple[int, int, int]]:
        """One answer from the endpoint, retrying transport failures; (content, reasoning,
        attempts, usage)."""
        estimate = sum(len(m["content"]) for m in messages) // 2 + (role.max_tokens or 512)
        params: dict[str, Any] = {"model": role.model, "messages": messages,
                                  "timeout": role.timeout,
                                  "extra_headers": {ROLE_HEADER: role_name.value}}
        if role.temperature is not None:
            params["temperature"] = role.temperature
        if role.max_tokens is not None:
            params["max_tokens"] = role.max_tokens
        for attempt in range(1, self.settings.max_attempts + 1):
            await self.rate.wait(estimate)
            delay: float | None = None
            async with self.limiter:
                epoch = self.limiter.epoch
                try:
                    resp = await self._send(params)
                except openai.RateLimitError as exc:
                    self.limiter.on_rate_limited(epoch)
                    delay = _retry_after(exc)
                    error = f"429 rate limited: {exc.message}"
                except (openai.AuthenticationError, openai.PermissionDeniedError,
                        openai.NotFoundError) as exc:
                    raise EndpointError(self._redact(
                        f"the endpoint refused the call ({exc.status_code}): {exc.message}. "
                        f"Check CSC_LLM_BASE_URL, the key and the model "
                        f"'{role.model}'.")) from None
                except openai.InternalServerError as exc:
                    error = f"{exc.status_code} server error: {exc.message}"
                except openai.APITimeoutError:
                    error = f"timed out after {role.timeout:.0f}s"
                except openai.APIConnectionError as exc:
                    error = f"connection failed: {exc.message}"
                except openai.APIStatusError as exc:  # other 4xx: this item cannot succeed
                    raise _ItemRejected(f"{exc.status_code}: {exc.message}", attempt) from None
                except UnreadableCompletion as exc:
                    error = str(exc)
                else:
                    await self.limiter.on_success()
                    return resp.content, resp.reasoning, attempt, resp.usage
            if attempt == self.settings.max_attempts:
                raise _TransportGaveUp(self._redact(error), attempt)
            backoff = min(self.settings.backoff_cap,
                          self.settings.backoff_base * 2 ** (attempt - 1))
            wait = delay if delay is not None else backoff * random.uniform(0.5, 1.5)
            log.debug("retry %s/%s in %.2fs: %s", attempt, self.settings.max_attempts, wait,
                      self._redact(error))
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _send(self, params: dict[str, Any]) -> Any:
        """One HTTP request, watched: an endpoint that stays silent is named in the log."""
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self.silence.run())
        watch = self.silence
        watch.sent()
        try:
            resp = await create_chat_completion(self.client, params)
            watch.answered()
            return resp
        except openai.APIStatusError:  # an error status is still an answer
            watch.answered()
            raise
        finally:
            watch.finished()

    # -- bookkeeping -------------------------------------------------------------------------
    def _account(self, req: LLMRequest, key: str, status: str, usage, cost: float,
                 attempts: int, reasks: int, started: float, error: str | None,
                 answer: Cached | None) -> None:
        role = self.settings.role(req.role)
        self.stats.calls += 1
        self.stats.by_role[req.role.value] = self.stats.by_role.get(req.role.value, 0) + 1
        if status != "cached":
            self.stats.input_tokens += usage[0]
            self.stats.output_tokens += usage[1]
            self.stats.reasoning_tokens += usage[2]
            self.stats.cost_usd += cost
        row = CallRow(
            call_id=f"{self._call_prefix}{next(self._call_count):08x}", run_id=self.run_id,
            stage=self.stage,
            role=req.role.value, model=role.model, item_key=req.item_key, prompt_hash=key,
            prompt_version=req.prompt_version, input_tokens=usage[0], output_tokens=usage[1],
            reasoning_tokens=usage[2], latency_ms=(time.monotonic() - started) * 1000,
            attempts=attempts, reasks=reasks, status=status, cache_hit=status == "cached",
            cost_usd=cost, error=error)
        self.journal.record(row, key if answer else None, answer)

    def _record_dead(self, req: LLMRequest, key: str, error: str, attempts: int, reasks: int,
                     usage, started: float) -> str:
        """Log the failed call and its dead letter; the redacted reason is returned."""
        error = self._redact(error)
        cost = self.settings.price(self.settings.role(req.role).model).cost(usage[0], usage[1])
        self._account(req, key, "dead", usage, cost, attempts, reasks, started, error, None)
        self.stats.dead += 1
        self.journal.dead_letter(DeadLetterRow(
            dl_id=hashlib.sha256(f"{self.run_id}|{self.stage}|{req.item_key}|{key}".encode())
            .hexdigest()[:32],
            run_id=self.run_id, stage=self.stage, role=req.role.value, item_key=req.item_key,
            prompt_hash=key, error=error, attempts=attempts))
        return error

    # -- many calls ----------------------------------------------------------------------------
    async def run_all(self, requests: Sequence[LLMRequest]) -> list[LLMResult | LLMFailure]:
        """Answer every request with bounded concurrency; results in input order.

        Each item ends as a result, a dead letter, or (when the budget is reached) deferred.
        An EndpointError (bad key, unknown model) stops everything and is raised.
        """
        out: list[LLMResult | LLMFailure | None] = [None] * len(requests)
        cursor = iter(range(len(requests)))

        async def worker() -> None:
            for i in cursor:
                out[i] = await self.one(requests[i])

        workers = max(1, min(self.settings.concurrency, len(requests)))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [o for o in out if o is not None]

    async def one(self, req: LLMRequest, *,
                  refresh: bool | None = None) -> LLMResult | LLMFailure:
        """Like `call`, but failures of this item come back as an LLMFailure."""
        try:
            return await self.call(req, refresh=refresh)
        except DeadLetter as exc:
            return LLMFailure(req.item_key, str(exc), "dead",
                              unusable=isinstance(exc, UnusableAnswer))
        except BudgetExceeded as exc:
            self.stats.deferred += 1
            if not self._budget_logged:
                self._budget_logged = True
                log.warning("%s: stage '%s' stops taking new work", exc, self.stage)
            return LLMFailure(req.item_key, str(exc), "deferred")

    async def ask(self, role: Role, payload: Any, language: str, item_key: str, *,
                  refresh: bool | None = None,
                  values: dict[str, str] | None = None) -> Answer | LLMFailure:
        """A role's answer with its lineage, or why there is none (csc.llm.asking)."""
        return await ask(self, role, payload, language, item_key, refresh=refresh,
                         values=values)

    async def aclose(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()
        await self.client.close()


class _TransportGaveUp(RuntimeError):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts: {message}")
        self.attempts = attempts


class _ItemRejected(RuntimeError):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(f"the endpoint rejected this request: {message}")
        self.attempts = attempts
