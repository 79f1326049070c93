"""Progress of long waits: LLM batches (done/total, rate, ETA, cost so far) and an endpoint that
has gone quiet. Pure of Prefect: callers plug their own sinks in (tasks/ adds a Prefect
progress artifact).

A batch calls `BatchProgress.advance()` once per finished item; that costs one counter and one
clock read, and the hooks only run when 5% more is done or 2 s have passed (and once at the
start and the end), so the LLM fan-out pays nothing measurable for being watched.

The terminal gets a live bar from `rich` (a maintained library, already installed with
Prefect) when stderr is a terminal, and plain periodic lines otherwise (CI, a log file).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

log = logging.getLogger("csc.progress")


# -- figures as people read them ---------------------------------------------------------------

def duration(seconds: float) -> str:
    """3.2s, 45s, 4m05s, 1h02m."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def money(usd: float) -> str:
    """$0.0123 below a dollar, $12.35 above."""
    return f"${usd:.4f}" if abs(usd) < 1 else f"${usd:,.2f}"


def llm_summary(calls: int, cached: int, cost_usd: float) -> str:
    """'120 calls (80 cached), $0.0123'."""
    return f"{calls} calls ({cached} cached), {money(cost_usd)}"


def llm_counts(counts: dict | None) -> str:
    """llm_summary of a batch's counters ({calls, cache_hits, cost_usd, ...})."""
    c = counts or {}
    return llm_summary(c.get("calls", 0), c.get("cache_hits", 0), c.get("cost_usd", 0.0))


def ratio(value: float | None, digits: int = 3) -> str:
    """A rounded measure, or 'n/a' when it is undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


# -- one batch ---------------------------------------------------------------------------------

class LLMCounters(Protocol):
    """What progress reads from the gateway's accounting (csc.llm.gateway.GatewayStats)."""
    calls: int
    cache_hits: int
    cost_usd: float


@dataclass(frozen=True)
class Snapshot:
    label: str
    unit: str
    done: int
    total: int
    elapsed_s: float
    calls: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    final: bool = False

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)

    @property
    def percent(self) -> float:
        return round(100.0 * self.fraction, 1)

    @property
    def rate(self) -> float | None:
        """Items per second so far; None before the first one."""
        return self.done / self.elapsed_s if self.done and self.elapsed_s > 0 else None

    @property
    def eta_s(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate else None

    def speed(self) -> str:
        rate = self.rate
        if rate is None:
            return "starting"
        per = f"{rate:.1f}/s" if rate >= 0.1 else f"{rate * 60:.1f}/min"
        if self.final or self.done >= self.total:
            return f"{per}, in {duration(self.elapsed_s)}"
        return f"{per}, ETA {duration(self.eta_s or 0.0)}"

    def llm(self) -> str:
        return "llm " + llm_summary(self.calls, self.cached, self.cost_usd)

    def line(self) -> str:
        """'csconv zh: 40/100 dialogues (40%), 2.1/s, ETA 29s; llm 120 calls (80 cached), $0.01'"""
        return (f"{self.label}: {self.done}/{self.total} {self.unit} ({self.percent:g}%), "
                f"{self.speed()}; {self.llm()}")


ProgressHook = Callable[[Snapshot], Any]  # may also have a close() method, called at the end


class BatchProgress:
    """Counts a batch's finished items and tells the hooks, throttled.

    Hooks run at the start, whenever `every_fraction` more of the batch is done or `every_s`
    have passed since they last ran (checked as items finish), and once at the end (`close`,
    or leaving the `with` block). A hook that raises is logged and dropped, never fatal.
    """

    def __init__(self, label: str, total: int, *, unit: str = "items",
                 hooks: Iterable[ProgressHook] = (), every_s: float = 2.0,
                 every_fraction: float = 0.05, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.hooks = list(hooks)
        self.every_s = every_s
        self._step = max(1, math.ceil(total * every_fraction))
        self._clock = clock
        self._started = clock()
        self._next_count = self._step
        self._next_time = self._started + every_s
        self._llm: LLMCounters | None = None
        self._closed = False

    def bind(self, counters: LLMCounters) -> BatchProgress:
        """Read calls, cache hits and cost so far from these counters (the gateway's stats)."""
        self._llm = counters
        return self

    def advance(self, n: int = 1) -> None:
        """The hot path: one more item finished."""
        self.done += n
        if self.done >= self.total:
            return  # the last item is reported by close(), with the final figures
        if self.done >= self._next_count or self._clock() >= self._next_time:
            self._emit(False)

    def snapshot(self, final: bool = False) -> Snapshot:
        c = self._llm
        return Snapshot(self.label, self.unit, self.done, self.total,
                        self._clock() - self._started,
                        c.calls if c else 0, c.cache_hits if c else 0, c.cost_usd if c else 0.0,
                        final)

    def _emit(self, final: bool) -> None:
        snap = self.snapshot(final)
        self._next_count = self.done + self._step
        self._next_time = self._clock() + self.every_s
        for hook in list(self.hooks):
            try:
                hook(snap)
            except Exception as exc:  # a display must never fail the batch
                log.warning("progress display %r failed and is switched off: %s", hook, exc)
                self.hooks.remove(hook)

    def start(self) -> BatchProgress:
        self._emit(False)
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._emit(True)
        for hook in self.hooks:
            close = getattr(hook, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:
                    log.warning("progress display %r did not close cleanly: %s", hook, exc)

    def __enter__(self) -> BatchProgress:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the terminal ------------------------------------------------------------------------------

class _Board:
    """One rich live display per process, shared by the batches that run at the same time
    (rich allows a single live display)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: Any = None
        self._users = 0

    def join(self, console: Any, label: str, total: int) -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("{task.description}", markup=False), BarColumn(),
                    MofNCompleteColumn(), TextColumn("{task.fields[detail]}", markup=False),
                    console=console, refresh_per_second=4, transient=False)
                self._progress.start()
            self._users += 1
            return self._progress.add_task(label, total=total, detail="starting")

    def update(self, task_id: Any, snap: Snapshot) -> None:
        progress = self._progress
        if progress is not None:
            progress.update(task_id, completed=snap.done, total=snap.total,
                            detail=f"{snap.speed()}; {snap.llm()}")

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._progress is not None:
                self._progress.stop()
                self._progress = None


_BOARD = _Board()


class TerminalProgress:
    """A progress hook for stderr: a live rich bar on a terminal, plain lines elsewhere.

    Plain lines are sparser than the hook's updates: the start, every `plain_every_fraction`
    of the batch or `plain_every_s`, whichever comes first, and the end.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 plain_every_s: float = 30.0, plain_every_fraction: float = 0.10) -> None:
        from rich.console import Console

        self._stream = stream
        self._console = Console(file=stream) if stream is not None else Console(stderr=True)
        self.live = (self._console.is_terminal and not self._console.is_dumb_terminal
                     if live is None else live)
        self.plain_every_s = plain_every_s
        self.plain_every_fraction = plain_every_fraction
        self._task: Any = None
        self._last_at: float | None = None
        self._last_fraction = 0.0

    def __call__(self, snap: Snapshot) -> None:
        if self.live:
            if self._task is None:
                self._task = _BOARD.join(self._console, snap.label, snap.total)
            _BOARD.update(self._task, snap)
            return
        if (snap.final or self._last_at is None
                or snap.fraction + 1e-9 >= self._last_fraction + self.plain_every_fraction
                or snap.elapsed_s >= self._last_at + self.plain_every_s):
            self._last_at, self._last_fraction = snap.elapsed_s, snap.fraction
            print(snap.line(), file=self._stream or sys.stderr, flush=True)

    def close(self) -> None:
        if self._task is not None:
            self._task = None
            _BOARD.leave()

    def __repr__(self) -> str:
        return f"TerminalProgress(live={self.live})"


# -- an endpoint that has gone quiet -----------------------------------------------------------

class SilenceWatch:
    """Says so when an endpoint has answered nothing for `every` seconds while requests wait,
    and again every `every` seconds for as long as that lasts.

    The gateway calls `sent()` before a request, `answered()` when the endpoint answers
    (any HTTP answer, errors included) and `finished()` after it, answered or not; `run()` is
    the watchdog task. It sleeps until the next moment a line could be due, so it costs
    nothing while answers flow.
    """

    def __init__(self, endpoint: str, every: float = 15.0,
                 say: Callable[[str], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self.every = every
        self.say = say or (lambda message: log.warning("%s", message))
        self.waiting = 0
        self._clock = clock
        self._quiet_since = clock()
        self._said_at: float | None = None
        self._wake: asyncio.Event | None = None

    def sent(self) -> None:
        if self.waiting == 0:  # silence only counts while something waits for an answer
            self._quiet_since = self._clock()
            self._said_at = None
            if self._wake is not None:
                self._wake.set()
        self.waiting += 1

    def answered(self) -> None:
        self._quiet_since = self._clock()
        self._said_at = None

    def finished(self) -> None:
        self.waiting -= 1

    def due(self) -> float | None:
        """When the next line is due (clock time), or None while nothing waits."""
        if self.waiting <= 0:
            return None
        return (self._said_at if self._said_at is not None else self._quiet_since) + self.every

    def check(self) -> str | None:
        """Say the line if it is due; returns it."""
        due = self.due()
        now = self._clock()
        if due is None or now < due:
            return None
        self._said_at = now
        n = self.waiting
        message = (f"no answer from the endpoint {self.endpoint} for "
                   f"{duration(now - self._quiet_since)}; {n} request{'s' if n != 1 else ''} "
                   f"waiting")
        self.say(message)
        return message

    async def run(self) -> None:
        self._wake = asyncio.Event()
        while True:
            due = self.due()
            if due is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = due - self._clock()
            if delay > 0:
                await _pause(delay)
            else:
                self.check()


async def _pause(seconds: float) -> None:
    """Sleep on the loop's timer, not through asyncio.sleep: the watchdog's pauses are not
    the gateway's back-off, which tests observe by spying on asyncio.sleep."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    timer = loop.call_later(seconds, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        timer.cancel()
