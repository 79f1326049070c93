"""What the LLM gateway costs on top of the raw SDK, over real HTTP to the simulator.

(a) floor: a plain asyncio loop with the raw `openai` SDK and a semaphore;
(b) the gateway with the cache off (limits, retries, parsing, validation, call log);
(c) a rerun through the gateway with the cache warm (no HTTP at all).

(a) and (b) run in interleaved rounds (a b, b a, a b, ...), so a machine that slows down or
speeds up during the bench weighs on both alike; the ratio is the median of the rounds'
b/a. Each also reports the client's CPU per call (`time.process_time`, this process only: the
simulator runs in its own), since on 2 cores the client's CPU is part of the wall time, and the
event loop thread's alone (`time.thread_time`; work the gateway hands to a thread of its own,
such as the journal's writes, counts in the first and not in the second).

Targets: b/a <= 1.10 (median of the rounds), the gateway's CPU per call within 0.5 ms of the
SDK's, and c < 5% of b. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from csc.llm.client import sdk_client
from csc.llm.gateway import LLMGateway, LLMRequest, LLMResult
from csc.llm.journal import Journal
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import ROLE_HEADER, PrefilterVerdict, Role
from simulator import SimConfig, SimulatorProcess

TARGET_RATIO = 1.10
TARGET_CPU_GAP_MS = 0.5  # gateway CPU per call minus the SDK's
TARGET_WARM_PCT = 5.0


@dataclass
class Timing:
    wall_s: float
    cpu_s: float
    calls: int
    loop_cpu_s: float = 0.0  # the event loop's thread alone

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu_s / self.calls

    @property
    def loop_cpu_ms_per_call(self) -> float:
        return 1000 * self.loop_cpu_s / self.calls


class _Clock:
    """Wall time, this process's CPU time (every thread) and the CPU time of the calling
    thread (the event loop's) between start and stop."""

    def __enter__(self) -> _Clock:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self._loop = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.loop = time.thread_time() - self._loop


def requests(n: int) -> list[LLMRequest]:
    out = []
    for i in range(n):
        payload = {"language": "zh", "dialogue": [
            {"speaker": "customer", "text": f"您好，我的信用卡第{i}笔交易显示异常，想问一下原因"},
            {"speaker": "supporter", "text": "您好，请您先提供一下预留手机号，我帮您核实身份"}]}
        content = ("判断下面这段客服对话的质量。\n```json\n"
                   + json.dumps(payload, ensure_ascii=False) + "\n```")
        out.append(LLMRequest(Role.PREFILTER_JUDGE, [{"role": "user", "content": content}],
                              item_key=f"item-{i}", prompt_version="bench-1",
                              response_type=PrefilterVerdict))
    return out


def settings(url: str, concurrency: int) -> LLMSettings:
    roles = {r: RoleSettings(model=f"sim-{r.value}", temperature=0.0, max_tokens=None,
                             timeout=60.0) for r in Role}
    return LLMSettings(base_url=url, api_key="sim-key", roles=roles, concurrency=concurrency)


async def floor(url: str, reqs: list[LLMRequest], concurrency: int) -> Timing:
    client = sdk_client(url, "sim-key")  # the gateway's own client and transport
    sem = asyncio.Semaphore(concurrency)

    async def one(req: LLMRequest) -> str:
        async with sem:
            resp = await client.chat.completions.create(
                model="sim-prefilter_judge", messages=req.messages, temperature=0.0,
                extra_headers={ROLE_HEADER: req.role.value})
            return resp.choices[0].message.content or ""

    with _Clock() as clock:
        answers = await asyncio.gather(*(one(r) for r in reqs))
    await client.close()
    assert len(answers) == len(reqs)
    return Timing(clock.wall, clock.cpu, len(reqs), clock.loop)


async def through_gateway(url: str, reqs: list[LLMRequest], concurrency: int, journal: Journal,
                          *, use_cache: bool, run_id: str) -> tuple[Timing, LLMGateway]:
    gw = LLMGateway(settings(url, concurrency), journal, run_id=run_id, stage="bench",
                    use_cache=use_cache)
    with _Clock() as clock:
        results = await gw.run_all(reqs)
    await gw.aclose()
    assert all(isinstance(r, LLMResult) for r in results), "every bench call must succeed"
    return Timing(clock.wall, clock.cpu, len(reqs), clock.loop), gw


async def gateway_round(url: str, reqs: list[LLMRequest], concurrency: int, path: Path,
                        run_id: str) -> Timing:
    """(b): the gateway with the cache off, its call log in a journal of its own."""
    journal = Journal(path)
    try:
        timing, _ = await through_gateway(url, reqs, concurrency, journal, use_cache=False,
                                          run_id=run_id)
    finally:
        journal.close()
    return timing


# Where the client's CPU goes, by area: the first pattern found in a function's file or name.
AREAS = (
    ("journal (SQLite)", ("csc/llm/journal.py", "sqlite3")),
    ("limiter", ("csc/llm/limits.py",)),
    ("gateway", ("csc/llm/gateway.py", "csc/progress.py")),
    ("parsing", ("csc/llm/parsing.py",)),
    ("hashing, JSON", ("hashlib", "json/", "uuid.py")),
    ("logging", ("logging/",)),
    ("pydantic", ("pydantic",)),
    ("openai SDK", ("openai/",)),
    ("HTTP (httpx, httpcore, h11, anyio, sockets)",
     ("httpx", "httpcore", "h11", "anyio", "sniffio", "socket", "ssl")),
    ("asyncio", ("asyncio/", "select.epoll")),
)


def by_area(stats: pstats.Stats, calls: int) -> list[tuple[str, float]]:
    """Own CPU time per call (ms) of each area, largest first; the rest is 'other'."""
    totals: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        where = f"{filename} {name}"
        area = next((a for a, pats in AREAS if any(p in where for p in pats)), "other")
        totals[area] = totals.get(area, 0.0) + tottime
    return sorted(((a, 1000 * t / calls) for a, t in totals.items()), key=lambda x: -x[1])


async def profile_gateway(url: str, reqs: list[LLMRequest], concurrency: int,
                          path: Path) -> str:
    """cProfile of one more (b) round, not counted: where the client's CPU goes. The
    profiler adds its own cost to every function call, so compare areas, not totals."""
    profiler = cProfile.Profile()
    profiler.enable()
    await gateway_round(url, reqs, concurrency, path, "profile")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write("own CPU per call by area, under cProfile (ms):\n")
    for area, ms in by_area(stats, len(reqs)):
        out.write(f"  {ms:7.3f}  {area}\n")
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


async def main_async(args: argparse.Namespace) -> dict:
    reqs = requests(args.requests)
    n = len(reqs)
    config = SimConfig(seed=1, latency_ms=args.latency_ms)
    with SimulatorProcess(config) as sim, tempfile.TemporaryDirectory() as tmp:
        url = sim.base_url
        tmp_path = Path(tmp)
        # warm up connections, imports and validators on both paths (not counted)
        await floor(url, reqs[:64], args.concurrency)
        await gateway_round(url, reqs[:64], args.concurrency, tmp_path / "warm-up.sqlite",
                            "warm-up")
        floors: list[Timing] = []
        gateways: list[Timing] = []
        for i in range(args.rounds):
            order = ("a", "b") if i % 2 == 0 else ("b", "a")
            for which in order:
                if which == "a":
                    floors.append(await floor(url, reqs, args.concurrency))
                else:
                    gateways.append(await gateway_round(
                        url, reqs, args.concurrency, tmp_path / f"b{i}.sqlite", f"b{i}"))
            a, b = floors[-1], gateways[-1]
            print(f"round {i + 1}/{args.rounds} ({' then '.join(order)}): "
                  f"(a) SDK floor {a.wall_s:6.2f} s, {a.cpu_ms_per_call:.3f} ms CPU/call "
                  f"({a.loop_cpu_ms_per_call:.3f} on the loop) | "
                  f"(b) gateway {b.wall_s:6.2f} s, {b.cpu_ms_per_call:.3f} ms CPU/call "
                  f"({b.loop_cpu_ms_per_call:.3f} on the loop) | "
                  f"b/a = {b.wall_s / a.wall_s:.3f}", flush=True)
        ratios = [b.wall_s / a.wall_s for a, b in zip(floors, gateways, strict=True)]
        ratio = statistics.median(ratios)
        a_s = statistics.median(t.wall_s for t in floors)
        b_s = statistics.median(t.wall_s for t in gateways)
        sdk_cpu = statistics.median(t.cpu_ms_per_call for t in floors)
        gw_cpu = statistics.median(t.cpu_ms_per_call for t in gateways)
        sdk_loop = statistics.median(t.loop_cpu_ms_per_call for t in floors)
        gw_loop = statistics.median(t.loop_cpu_ms_per_call for t in gateways)
        print(f"(a) raw SDK floor:          {a_s:7.2f} s  {sdk_cpu:.3f} ms CPU/call "
              f"(median of {args.rounds})", flush=True)
        print(f"(b) gateway, cache off:     {b_s:7.2f} s  {gw_cpu:.3f} ms CPU/call "
              f"(b/a = {ratio:.3f}, median of the rounds)", flush=True)

        journal = Journal(tmp_path / "c.sqlite")
        try:
            cold, _ = await through_gateway(url, reqs, args.concurrency, journal,
                                            use_cache=True, run_id="cold")
            print(f"    gateway, cache cold:    {cold.wall_s:7.2f} s  "
                  f"{cold.cpu_ms_per_call:.3f} ms CPU/call", flush=True)
            warm, gw = await through_gateway(url, reqs, args.concurrency, journal,
                                             use_cache=True, run_id="warm")
        finally:
            journal.close()
        c = warm.wall_s
        print(f"(c) gateway, cache warm:    {c:7.2f} s  ({100 * c / b_s:.1f}% of b, "
              f"{gw.stats.cache_hits} hits, {warm.cpu_ms_per_call:.3f} ms CPU/call)",
              flush=True)
        if args.profile:
            print(await profile_gateway(url, reqs, args.concurrency,
                                        tmp_path / "profile.sqlite"), flush=True)
        served = sim.stats()
    met = {"ratio": ratio <= TARGET_RATIO, "cpu": gw_cpu - sdk_cpu <= TARGET_CPU_GAP_MS,
           "warm": c < TARGET_WARM_PCT / 100 * b_s}
    return {
        "bench": "llm_overhead", "requests": n, "latency_ms": args.latency_ms,
        "concurrency": args.concurrency, "rounds": args.rounds,
        "floor_s": round(a_s, 3), "gateway_nocache_s": round(b_s, 3),
        "floor_s_rounds": [round(t.wall_s, 3) for t in floors],
        "gateway_nocache_s_rounds": [round(t.wall_s, 3) for t in gateways],
        "ratio_b_over_a": round(ratio, 3), "ratio_rounds": [round(r, 3) for r in ratios],
        "cpu_ms_per_call": {"gateway": round(gw_cpu, 3), "sdk": round(sdk_cpu, 3)},
        "cpu_gap_ms_per_call": round(gw_cpu - sdk_cpu, 3),
        "loop_cpu_ms_per_call": {"gateway": round(gw_loop, 3), "sdk": round(sdk_loop, 3)},
        "cpu_ms_per_call_rounds": {"gateway": [round(t.cpu_ms_per_call, 3) for t in gateways],
                                   "sdk": [round(t.cpu_ms_per_call, 3) for t in floors]},
        "gateway_cold_cache_s": round(cold.wall_s, 3), "gateway_warm_cache_s": round(c, 3),
        "warm_pct_of_b": round(100 * c / b_s, 2),
        "sim_max_in_flight": served.get("max_in_flight"),
        "targets": {"ratio_b_over_a": TARGET_RATIO, "cpu_gap_ms_per_call": TARGET_CPU_GAP_MS,
                    "warm_pct_of_b": TARGET_WARM_PCT},
        "met": met, "meets_targets": all(met.values()), "machine": "2 cores",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved (a)/(b) rounds; the figures are their medians")
    parser.add_argument("--quick", action="store_true", help="300 requests")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile hotspots of one more (b) round")
    args = parser.parse_args()
    if args.quick:
        args.requests = 300
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    result = asyncio.run(main_async(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
