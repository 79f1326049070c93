"""The one runner of every LLM stage: plan the pending items, then run a shard of them.

A shard runs on one event loop with one gateway (one SDK client). Its items are read once and
kept in flight in a sliding window, so the endpoint's slots stay busy across batch boundaries:
no batch waits for its slowest item. Finished outcomes are committed every
`batch_size` items or `commit_every_s` seconds, in a short transaction on a worker thread, off
the path of the LLM calls. Crash safety: every answer is durable in the journal the moment it
arrives, so a crash loses only rows not yet committed, and the rerun finds their answers cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from csc.kit.outcome import LLM_FIGURES, Counts
from csc.kit.stage import LLMStage
from csc.llm.endpoint import gateway, open_journal
from csc.llm.gateway import LLMGateway
from csc.llm.run import run_with_gateway
from csc.progress import BatchProgress, ProgressHook, TerminalProgress
from warehouse.db import connect
from warehouse.llm_store import sync_journal


@dataclass(frozen=True)
class Part:
    """Pending items of one language, under that language's version."""

    language: str
    version: str
    ids: list[str]


@dataclass(frozen=True)
class Shard:
    """Up to `shard_size` pending items of one stage: one Prefect task's work. A shard may
    hold items of several languages, one part each, all kept in flight by one event loop: a
    stage with work in zh and en is then one run, not two in a row that each end with a tail
    of idle endpoint slots."""

    stage: str
    parts: tuple[Part, ...]

    @property
    def language(self) -> str:
        """'zh', or 'zh+en' for a shard with both."""
        return "+".join(p.language for p in self.parts)

    @property
    def ids(self) -> list[str]:
        return [i for p in self.parts for i in p.ids]


def plan(stage: LLMStage, shard_size: int = 1000, limit: int | None = None) -> list[Shard]:
    """The items with no outcome under the current version, per language (`limit` each),
    cut into shards of `shard_size` items in language order."""
    pending: list[Part] = []
    with connect() as con:
        for lang in stage.languages:
            version = stage.version(lang)
            ids = stage.pending(con, lang, version, limit)
            if ids:
                pending.append(Part(lang, version, ids))
    shards: list[Shard] = []
    parts: list[Part] = []
    room = shard_size
    for part in pending:
        ids = part.ids
        while ids:
            parts.append(Part(part.language, part.version, ids[:room]))
            room -= len(parts[-1].ids)
            ids = ids[len(parts[-1].ids):]
            if room == 0:
                shards.append(Shard(stage.key, tuple(parts)))
                parts, room = [], shard_size
    if parts:
        shards.append(Shard(stage.key, tuple(parts)))
    return shards


def _progress(label: str, total: int, hook: ProgressHook | None) -> BatchProgress:
    """Progress on the terminal, and through the caller's hook (tasks/ adds a Prefect
    progress artifact)."""
    hooks: list[ProgressHook] = [TerminalProgress()]
    if hook is not None:
        hooks.append(hook)
    return BatchProgress(label, total, unit="items", hooks=hooks)


class _Committer:
    """Collects finished outcomes and commits them in short transactions, one at a time."""

    def __init__(self, stage: LLMStage, shard: Shard, run_id: str, counts: Counts,
                 batch_size: int, every_s: float) -> None:
        self.stage, self.shard, self.run_id, self.counts = stage, shard, run_id, counts
        self.batch_size, self.every_s = batch_size, every_s
        self.buffer: list = []
        self.lock = asyncio.Lock()
        self.last = time.monotonic()
        self.flushing: set[asyncio.Task] = set()

    def add(self, outcome: object, version: str) -> None:
        self.buffer.append((outcome, version))
        due = time.monotonic() - self.last >= self.every_s
        if len(self.buffer) >= self.batch_size or due:
            task = asyncio.get_running_loop().create_task(self.flush())
            self.flushing.add(task)
            task.add_done_callback(self.flushing.discard)

    async def flush(self) -> None:
        async with self.lock:
            taken, self.buffer = self.buffer, []
            self.last = time.monotonic()
            if not taken:
                return
            written = await asyncio.to_thread(self._commit, taken)
            self.counts.add(o for o, _ in taken)
            self.counts.add_written(written)

    def _commit(self, done: list[tuple[object, str]]) -> dict[str, int]:
        """Rows (per version: a shard's languages have their own), contracts and the write,
        on a worker thread: none of it holds up the loop that keeps the calls going."""
        by_version: dict[str, list] = {}
        for outcome, version in done:
            by_version.setdefault(version, []).append(outcome)
        tables: dict[str, list[dict]] = {}
        for version, outcomes in by_version.items():
            for table, rows in self.stage.rows(outcomes, version, self.run_id).items():
                tables.setdefault(table, []).extend(rows)
        self.stage.check(tables)
        with connect() as con:
            return self.stage.write(con, tables)

    async def drain(self) -> None:
        """Wait for the commits under way, then commit what is left."""
        while self.flushing:
            await asyncio.gather(*list(self.flushing))
        await self.flush()


async def _run(stage: LLMStage, shard: Shard, gw: LLMGateway, committer: _Committer,
               tracker: BatchProgress, window: int) -> None:
    slots = asyncio.Semaphore(window)
    running: set[asyncio.Task] = set()
    failure: list[BaseException] = []

    async def one(item: object, version: str) -> None:
        try:
            outcome = await stage.process(gw, item)
            committer.add(outcome, version)
            tracker.advance()
        except BaseException as exc:  # an endpoint refusing us stops the shard
            failure.append(exc)
        finally:
            slots.release()

    loop = asyncio.get_running_loop()
    # One read for the shard (its size bounds the memory): a read per batch would open the
    # warehouse again and again on the path of the calls.
    items = await asyncio.to_thread(_load, stage, shard)
    committer.counts.input += len(items)
    for item, version in items:
        await slots.acquire()
        if failure:
            slots.release()
            break
        task = loop.create_task(one(item, version))
        running.add(task)
        task.add_done_callback(running.discard)
    while running:
        await asyncio.gather(*list(running))
    await committer.drain()  # what finished is kept, even when the shard fails
    if failure:
        raise failure[0]


def _load(stage: LLMStage, shard: Shard) -> list[tuple[object, str]]:
    """Every item of the shard with the version it is processed under."""
    with connect() as con:
        return [(item, p.version) for p in shard.parts
                for item in stage.load(con, p.language, p.ids)]


def run_shard(stage: LLMStage, shard: Shard, run_id: str, *, refresh: bool = False,
              batch_size: int = 100, commit_every_s: float = 5.0,
              progress: ProgressHook | None = None,
              make_gateway: Callable[..., LLMGateway] = gateway) -> Counts:
    """Process one shard end to end; its counts (they reconcile when it ends normally)."""
    counts = Counts(stage.key)
    settings = stage.settings
    window = max(stage.items_per_slot * settings.concurrency, 1)
    with open_journal(settings) as journal:
        committer = _Committer(stage, shard, run_id, counts, max(1, batch_size),
                               commit_every_s)
        with _progress(f"{stage.key} {shard.language}", len(shard.ids), progress) as tracker:
            async def work(gw: LLMGateway) -> None:
                tracker.bind(gw.stats)
                try:
                    await _run(stage, shard, gw, committer, tracker, window)
                finally:
                    s = gw.stats
                    counts.llm = {k: getattr(s, k) for k in LLM_FIGURES}
                    counts.llm["cost_usd"] = round(s.cost_usd, 6)

            try:
                run_with_gateway(
                    lambda: make_gateway(settings, journal, run_id=run_id, stage=stage.name,
                                         refresh=refresh), work)
            finally:
                with connect() as con:
                    sync_journal(con, journal)
    return counts


def run_all(stage: LLMStage, run_id: str, *, limit: int | None = None,
            batch_size: int = 100) -> Counts:
    """Plan and run every shard in this process, without Prefect (tests, benchmarks, a
    notebook); the summed counts. The flows use tasks/stage.run_stage instead."""
    return Counts.total(stage.key, [run_shard(stage, shard, run_id, batch_size=batch_size)
                                    .as_dict() for shard in plan(stage, limit=limit)])
