"""Adaptive concurrency (halve on 429 once per round, regrow one slot per round) and RPM."""

import asyncio

import pytest

from csc.llm.limits import AdaptiveLimiter, RateLimiter


def test_halves_once_per_round_and_recovers_slowly():
    async def go():
        lim = AdaptiveLimiter(16)
        epoch = lim.epoch
        lim.on_rate_limited(epoch)
        lim.on_rate_limited(epoch)  # a second 429 from the same round changes nothing
        assert (lim.limit, lim.reductions) == (8, 1)
        lim.on_rate_limited(lim.epoch)
        assert lim.limit == 4 and lim.lowest == 4
        for _ in range(4):
            await lim.on_success()
        assert lim.limit == 5  # one slot back per `limit` successes
        for _ in range(200):
            await lim.on_success()
        assert lim.limit == 16  # never above the configured bound
    asyncio.run(go())


def test_in_flight_never_exceeds_the_bound():
    async def go():
        lim = AdaptiveLimiter(3)

        async def job():
            async with lim:
                await asyncio.sleep(0.01)

        await asyncio.gather(*(job() for _ in range(20)))
        return lim.max_seen
    assert asyncio.run(go()) == 3


def test_requests_per_minute_budget_makes_callers_wait(monkeypatch):
    import csc.llm.limits as limits

    clock = [1000.0]
    slept: list[float] = []

    async def fake_sleep(delay):
        slept.append(delay)
        clock[0] += delay

    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(limits.asyncio, "sleep", fake_sleep)

    async def go():
        rate = RateLimiter(rpm=120, tpm=600)  # 2 requests and 10 tokens per second
        for _ in range(60):
            await rate.wait(10)  # the token budget (600) is spent after 60 requests
        assert slept == []
        await rate.wait(10)  # needs 10 more tokens: one second at 10 per second
    asyncio.run(go())
    assert sum(slept) == pytest.approx(1.0)
