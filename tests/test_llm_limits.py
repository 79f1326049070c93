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



# -- FIFO hand-over: one waiter woken per freed slot, no slot leaked on cancellation ----------

class CountingLoop(asyncio.SelectorEventLoop):
    """Counts the callbacks scheduled; waking a waiting task is one of them."""

    scheduled = 0

    def call_soon(self, *args, **kwargs):
        self.scheduled += 1
        return super().call_soon(*args, **kwargs)


async def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def test_slots_go_to_waiters_in_arrival_order_and_a_releaser_cannot_barge_back_in():
    async def go():
        lim = AdaptiveLimiter(1)
        order: list = []

        async def waiter(i):
            async with lim:
                order.append(i)
                await asyncio.sleep(0)

        await lim.acquire()
        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(waiter(i)))
            await settle()  # each one queued before the next arrives
        # a worker finishing one call and starting its next, in one step: the slot it frees
        # belongs to the oldest waiter, so it queues behind all six
        await lim.release()
        await lim.acquire()
        order.append("again")
        await lim.release()
        await asyncio.wait_for(asyncio.gather(*tasks), 2)
        assert order == [0, 1, 2, 3, 4, 5, "again"]
        assert (lim.in_flight, lim.max_seen) == (0, 1)
    asyncio.run(go())


def test_a_release_wakes_exactly_one_waiter():
    async def go():
        loop = asyncio.get_running_loop()
        lim = AdaptiveLimiter(1)
        granted: list[int] = []

        async def waiter(i):
            await lim.acquire()
            granted.append(i)  # keeps the slot: the test releases it on the waiter's behalf

        await lim.acquire()
        tasks = [asyncio.create_task(waiter(i)) for i in range(30)]
        await settle()
        wakeups = []
        for i in range(30):
            before = loop.scheduled
            await lim.release()
            wakeups.append(loop.scheduled - before)
            await settle()
            assert granted == list(range(i + 1)) and lim.in_flight == 1
        await lim.release()
        await asyncio.wait_for(asyncio.gather(*tasks), 2)
        assert wakeups == [1] * 30  # not 30, 29, 28, ... (every waiter, to re-check)
        assert lim.in_flight == 0 and not lim._waiters
    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        runner.run(go())


def test_a_waiter_cancelled_before_its_turn_leaves_the_queue():
    async def go():
        lim = AdaptiveLimiter(1)
        order: list = []

        async def waiter(i):
            async with lim:
                order.append(i)

        await lim.acquire()
        tasks = [asyncio.create_task(waiter(i)) for i in range(4)]
        await settle()
        tasks[1].cancel()  # from the middle of the queue, and it has left when it runs
        await settle()
        assert len(lim._waiters) == 3
        tasks[0].cancel()  # the head, cancelled in the same step as the release: the slot
        await lim.release()  # skips it and goes to the next live waiter
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)
        assert [isinstance(r, asyncio.CancelledError) for r in results] == [
            True, True, False, False]
        assert order == [2, 3]
        assert lim.in_flight == 0 and not lim._waiters and lim.max_seen == 1
    asyncio.run(go())


def test_a_waiter_cancelled_after_its_grant_passes_the_slot_on():
    async def go():
        lim = AdaptiveLimiter(1)
        order: list = []

        async def waiter(i):
            async with lim:
                order.append(i)
                assert lim.in_flight <= lim.limit

        await lim.acquire()
        tasks = [asyncio.create_task(waiter(i)) for i in range(3)]
        await settle()
        await lim.release()  # the slot is handed to waiter 0, which has not run yet...
        tasks[0].cancel()  # ...and is cancelled before it does
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)
        assert isinstance(results[0], asyncio.CancelledError)
        assert order == [1, 2]  # the slot went on to the next waiter, not lost
        assert lim.in_flight == 0 and lim.max_seen == 1 and not lim._waiters
        async with lim:  # and the slot is free for the next caller
            assert lim.in_flight == 1
    asyncio.run(go())


def test_a_reduced_bound_holds_while_many_wait_and_regrowth_wakes_one_per_slot():
    async def go():
        lim = AdaptiveLimiter(8)
        running: list[int] = []
        peak_after_cut = [0]
        cut = asyncio.Event()
        hold = asyncio.Event()

        async def job(i):
            async with lim:
                running.append(i)
                if cut.is_set():
                    peak_after_cut[0] = max(peak_after_cut[0], lim.in_flight)
                await hold.wait()
                running.remove(i)

        tasks = [asyncio.create_task(job(i)) for i in range(40)]
        await settle()
        assert lim.in_flight == 8 and len(lim._waiters) == 32
        lim.on_rate_limited(lim.epoch)  # 8 -> 4 while 8 are in flight and 32 wait
        cut.set()
        assert lim.limit == 4
        # let the 8 finish: nobody new may start until fewer than 4 are in flight
        hold.set()
        await settle(3)
        hold.clear()
        await settle()
        assert lim.in_flight == 4 and len(running) == 4
        # one success round grows the bound by one: exactly one more waiter starts
        waiting = len(lim._waiters)
        for _ in range(4):
            await lim.on_success()
        await settle()
        assert lim.limit == 5 and lim.in_flight == 5 and len(lim._waiters) == waiting - 1
        hold.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 2)
        assert peak_after_cut[0] <= 5 and lim.in_flight == 0 and not lim._waiters
    asyncio.run(go())
