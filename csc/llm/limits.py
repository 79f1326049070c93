"""Concurrency and rate control for LLM calls.

`AdaptiveLimiter` bounds requests in flight and halves the bound when the endpoint answers
429, then grows it back one slot at a time (additive increase, multiplicative decrease), so
a rate-limited endpoint is not hammered while it recovers. `RateLimiter` enforces optional
requests-per-minute and tokens-per-minute budgets with token buckets.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque


class AdaptiveLimiter:
    """At most `limit` holders at once; waiters are served first come, first served.

    A freed slot is handed to the longest-waiting coroutine directly: its future is resolved
    and the slot counted as taken before it runs again, so exactly one waiter wakes per freed
    slot (no thundering herd) and a newcomer cannot take the slot ahead of the queue. A waiter
    cancelled before its grant leaves the queue; one cancelled after its grant (resolved, not
    yet resumed) passes the slot on, so cancellation never leaks a slot or grants one twice.
    """

    def __init__(self, maximum: int, recover_after: int = 1) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self.max_seen = 0
        self.reductions = 0
        self.epoch = 0  # bumped on each reduction
        self.lowest = maximum
        self._successes = 0
        self._recover_after = recover_after
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut  # resolved by _grant, which has already counted the slot as ours
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._release()  # granted, then cancelled before running: pass the slot on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(fut)
            raise

    async def release(self) -> None:
        self._release()

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.max_seen:
            self.max_seen = self.in_flight

    def _release(self) -> None:
        self.in_flight -= 1
        if self._waiters:
            self._grant()

    def _grant(self) -> None:
        """Hand free slots to the oldest waiters, one waiter woken per slot."""
        waiters = self._waiters
        while waiters and self.in_flight < self.limit:
            fut = waiters.popleft()
            if not fut.done():  # a cancelled waiter has left the queue already; be safe
                self._take()
                fut.set_result(None)

    def on_rate_limited(self, started_epoch: int) -> None:
        """Halve the bound (not below 1), once per round: a 429 of a request sent before the
        last reduction says nothing about the new bound. Requests in flight finish normally;
        no waiter is granted a slot until fewer than the new bound are in flight."""
        if started_epoch != self.epoch:
            return
        new = max(1, self.limit // 2)
        if new < self.limit:
            self.reductions += 1
            self.epoch += 1
        self.limit = new
        self.lowest = min(self.lowest, new)
        self._successes = 0

    async def on_success(self) -> None:
        """Grow back one slot per `recover_after` x limit successes (one per round trip),
        and hand the new slot to the oldest waiter."""
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self._recover_after * self.limit:
            self._successes = 0
            self.limit += 1
            if self._waiters:
                self._grant()


class _Bucket:
    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self.stamp = time.monotonic()

    def delay(self, amount: float) -> float:
        """Seconds until `amount` is available (0 if now); refills but takes nothing."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        amount = min(amount, self.capacity)  # one huge request must still go through
        return 0.0 if self.tokens >= amount else (amount - self.tokens) / self.rate

    def take(self, amount: float) -> None:
        self.tokens -= min(amount, self.capacity)


class RateLimiter:
    """Optional RPM / TPM budgets; `wait(tokens)` sleeps until both allow the request."""

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self._rpm = _Bucket(rpm) if rpm else None
        self._tpm = _Bucket(tpm) if tpm else None
        self._lock = asyncio.Lock()

    async def wait(self, tokens: int) -> None:
        if self._rpm is None and self._tpm is None:
            return
        needs = [(b, amount) for b, amount in ((self._rpm, 1), (self._tpm, tokens)) if b]
        async with self._lock:
            while (delay := max(b.delay(amount) for b, amount in needs)) > 0:
                await asyncio.sleep(delay)
            for b, amount in needs:
                b.take(amount)
