"""Concurrency and rate control for LLM calls.

`AdaptiveLimiter` bounds requests in flight and halves the bound when the endpoint answers
429, then grows it back one slot at a time (additive increase, multiplicative decrease), so
a rate-limited endpoint is not hammered while it recovers. `RateLimiter` enforces optional
requests-per-minute and tokens-per-minute budgets with token buckets.
"""

from __future__ import annotations

import asyncio
import time


class AdaptiveLimiter:
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
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.max_seen = max(self.max_seen, self.in_flight)

    async def release(self) -> None:
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()

    def on_rate_limited(self, started_epoch: int) -> None:
        """Halve the bound (not below 1), once per round: a 429 of a request sent before the
        last reduction says nothing about the new bound. Requests in flight finish normally."""
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
        """Grow back one slot per `recover_after` x limit successes (one per round trip)."""
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self._recover_after * self.limit:
            self._successes = 0
            async with self._cond:
                self.limit += 1
                self._cond.notify_all()


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
