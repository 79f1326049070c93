"""The CSConv stage against its chain floor, over real HTTP to the simulator (own process).

1. The stage runs through the stage kit exactly as the flows run it (`csc.kit.runner.plan`,
   then `run_shard` per shard, `batch_size` items per commit), while every request the
   gateway sends is recorded (messages, model, temperature, max_tokens, headers, and the
   dialogue it is for) in send order.
2. The chain floor replays those exact calls with the raw `openai` SDK against a fresh
   simulator with the same config: each dialogue's calls in sequence, all dialogues at once,
   bounded by the same concurrency (an asyncio.Semaphore per call).

Target: stage time <= 1.15 x the chain floor at the flows' defaults (shards of 1000, commits
of 100, 64 in flight). Input: the rule-passed dialogues of the STC-3 Chinese training file
when ../shared/corpora is there (read at bench time, never copied), else the bundled samples.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpora" / "stc3-dch1" / "train_data_cn.json.gz"
TARGET = 1.15
SENT = ("model", "messages", "temperature", "max_tokens", "timeout", "extra_headers")


class Recorder:
    """Wraps LLMGateway.call (which dialogue) and LLMGateway._send (what went out)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (dialogue, params), send order
        self.item: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            "bench_item", default=None)

    def install(self) -> None:
        from csc.llm.gateway import LLMGateway

        call, send = LLMGateway.call, LLMGateway._send
        recorder = self

        async def recorded_call(gw: LLMGateway, req: Any, **kwargs: Any) -> Any:
            token = recorder.item.set(req.item_key)
            try:
                return await call(gw, req, **kwargs)
            finally:
                recorder.item.reset(token)

        async def recorded_send(gw: LLMGateway, params: dict[str, Any]) -> Any:
            item = recorder.item.get()
            if item is None:
                raise RuntimeError("a request went out outside LLMGateway.call")
            recorder.calls.append((item, {k: params[k] for k in SENT if k in params}
                                   | {"messages": list(params["messages"])}))
            return await send(gw, params)

        LLMGateway.call = recorded_call  # type: ignore[method-assign]
        LLMGateway._send = recorded_send  # type: ignore[method-assign]

    def chains(self) -> list[list[dict[str, Any]]]:
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item, params in self.calls:
            by_item[item].append(params)
        return list(by_item.values())


def limited(shards: list, limit: int | None) -> list:
    """`plan` limits per language; the bench's --limit is dialogues in total."""
    if limit is None:
        return shards
    from csc.kit.runner import Part, Shard

    out, left = [], limit
    for s in shards:
        parts = []
        for p in s.parts:
            if left > 0:
                parts.append(Part(p.language, p.version, p.ids[:left]))
                left -= len(parts[-1].ids)
        if parts:
            out.append(Shard(s.stage, tuple(parts)))
    return out


def run_stage(args: argparse.Namespace) -> dict[str, Any]:
    """Plan and run every shard as the flows do; figures of the run."""
    from csc.csconv.stage import CsconvStage
    from csc.kit import runner

    start = time.perf_counter()
    shards = limited(runner.plan(CsconvStage.ref().build(), args.shard_size, args.limit),
                     args.limit)
    plan_s = time.perf_counter() - start
    ids = {i for s in shards for i in s.ids}
    print(f"{len(ids)} dialogues in {len(shards)} shard(s) of up to {args.shard_size}, "
          f"commits of {args.batch_size}; latency {args.latency_ms:g} ms, "
          f"{args.concurrency} in flight; planned in {plan_s:.2f} s", flush=True)
    totals = {"kept": 0, "rejected": 0, "dead": 0, "deferred": 0, "cache_misses": 0}
    start, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
    for shard in shards:
        counts = runner.run_shard(CsconvStage.ref().build(), shard, "bench-run",
                                  batch_size=args.batch_size).as_dict()
        if counts["input"] != sum(counts[k] for k in ("kept", "rejected", "dead",
                                                      "deferred")):
            raise SystemExit(f"counts do not reconcile: {counts}")
        for key in ("kept", "rejected", "dead", "deferred"):
            totals[key] += counts[key]
        totals["cache_misses"] += int(counts["llm"].get("cache_misses", 0))
    run_s, cpu = time.perf_counter() - start, time.process_time() - cpu
    loop = time.thread_time() - loop  # run_shard runs its event loop on this thread
    again = runner.plan(CsconvStage.ref().build(), args.shard_size, None)
    rerun = sum(1 for s in again for i in s.ids if i in ids)
    return {"dialogues": len(ids), "shards": len(shards), "plan_s": plan_s, "run_s": run_s,
            "run_cpu_s": cpu, "loop_cpu_s": loop, "rerun_pending": rerun, **totals}


async def chain_floor(url: str, chains: list[list[dict[str, Any]]],
                      concurrency: int) -> tuple[float, float, float]:
    """Each dialogue's calls in sequence, all dialogues at once, `concurrency` in flight;
    (wall s, this process's CPU s, the event loop thread's CPU s)."""
    from csc.llm.client import sdk_client

    client = sdk_client(url, "sim-key")  # the gateway's own client and transport
    slots = asyncio.Semaphore(concurrency)

    async def chain(calls: list[dict[str, Any]]) -> None:
        for params in calls:
            async with slots:
                await client.chat.completions.create(**params)

    start, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
    await asyncio.gather(*(chain(c) for c in chains))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    loop = time.thread_time() - loop
    await client.close()
    return elapsed, cpu, loop


def cpu_of(sim: Any) -> float:
    """CPU seconds the simulator process has used (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{sim.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, AttributeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hotspots(profile: cProfile.Profile, n: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(n)
    stats.sort_stats("tottime").print_stats(n)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=100, help="items per commit")
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=1000, help="dialogues in total")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the stage run (slows it; the ratio is then not the "
                             "figure to report)")
    parser.add_argument("--profile-out", type=Path, default=None,
                        help="with --profile: also save the raw cProfile stats to this file "
                             "(pstats format)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-csconv-"))
    try:
        result = bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    os.environ.update(CSC_WAREHOUSE=str(tmp / "wh.duckdb"), CSC_LLM_CACHE=str(tmp / "llm.sqlite"),
                      CSC_OUT=str(tmp / "out"), CSC_LLM_API_KEY="sim-key",
                      CSC_LLM_MODEL="sim-default", CSC_LLM_CONCURRENCY=str(args.concurrency))

    # imports outside the timed run
    import csc.csconv.stage
    import csc.kit.runner  # noqa: F401
    from csc.ingest.service import ingest_path
    from csc.paths import SAMPLES
    from simulator import SimConfig, SimulatorProcess

    source, path = ("stc3", CORPUS) if CORPUS.is_file() else (None, SAMPLES)
    start = time.perf_counter()
    ingest_path(path, "bench-ingest", source=source)
    print(f"ingested {path.name} in {time.perf_counter() - start:.1f} s", flush=True)

    recorder = Recorder()
    recorder.install()
    config = SimConfig(seed=1, latency_ms=args.latency_ms)
    profile = cProfile.Profile() if args.profile else None
    load_before = os.getloadavg()[0]
    with SimulatorProcess(config) as sim:
        os.environ["CSC_LLM_BASE_URL"] = sim.base_url
        sim_cpu = cpu_of(sim)
        if profile is not None:
            profile.enable()
        stage = run_stage(args)
        if profile is not None:
            profile.disable()
        stage_sim_cpu = cpu_of(sim) - sim_cpu
        stage_max = sim.stats().get("max_in_flight")
    stage_s = stage["plan_s"] + stage["run_s"]
    calls = len(recorder.calls)
    print(f"stage: {stage_s:.2f} s ({stage['run_s']:.2f} s running shards), {calls} calls, "
          f"{calls / stage_s:.0f} calls/s, {stage['run_cpu_s']:.1f} CPU-s here "
          f"({stage['loop_cpu_s']:.1f} on the event loop), "
          f"{stage_sim_cpu:.1f} in the simulator; "
          f"kept {stage['kept']}, rejected {stage['rejected']}, dead {stage['dead']}; "
          f"rerun: {stage['rerun_pending']} pending",
          flush=True)
    if calls < stage["cache_misses"]:  # each miss sends at least one request
        raise SystemExit(f"recorded {calls} requests but the gateway missed the cache "
                         f"{stage['cache_misses']} times")

    chains = recorder.chains()
    with SimulatorProcess(config) as sim:
        sim_cpu = cpu_of(sim)
        floor_s, floor_cpu, floor_loop = asyncio.run(
            chain_floor(sim.base_url, chains, args.concurrency))
        floor_sim_cpu = cpu_of(sim) - sim_cpu
        floor_max = sim.stats().get("max_in_flight")
    ratio = stage_s / floor_s
    load_after = os.getloadavg()[0]
    print(f"chain floor: {floor_s:.2f} s for {len(chains)} chains of {calls} calls "
          f"(longest {max(map(len, chains), default=0)}), {floor_cpu:.1f} CPU-s here "
          f"({floor_loop:.1f} on the event loop), "
          f"{floor_sim_cpu:.1f} in the simulator; "
          f"stage / floor = {ratio:.3f} (target <= {TARGET})", flush=True)
    if profile is not None:
        print(hotspots(profile), flush=True)
        if args.profile_out is not None:
            profile.dump_stats(str(args.profile_out))
    return {
        "bench": "csconv_stage", "input": path.name, "dialogues": stage["dialogues"],
        "calls": calls, "latency_ms": args.latency_ms, "concurrency": args.concurrency,
        "batch_size": args.batch_size, "shard_size": args.shard_size, "shards": stage["shards"],
        "stage_s": round(stage_s, 3), "plan_s": round(stage["plan_s"], 3),
        "floor_s": round(floor_s, 3), "ratio": round(ratio, 3), "target": TARGET,
        "met": ratio <= TARGET, "profiled": args.profile,
        "kept": stage["kept"], "rejected": stage["rejected"], "dead": stage["dead"],
        "deferred": stage["deferred"], "rerun_pending": stage["rerun_pending"],
        "sim_max_in_flight": {"stage": stage_max, "floor": floor_max},
        "client_cpu_s": {"stage": round(stage["run_cpu_s"], 2), "floor": round(floor_cpu, 2)},
        "loop_cpu_s": {"stage": round(stage["loop_cpu_s"], 2), "floor": round(floor_loop, 2)},
        "sim_cpu_s": {"stage": round(stage_sim_cpu, 2), "floor": round(floor_sim_cpu, 2)},
        "loadavg_1m": {"before": round(load_before, 2), "after": round(load_after, 2)},
        "machine": "2 cores",
    }


if __name__ == "__main__":
    sys.exit(main())
