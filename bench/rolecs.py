"""The RoleCS stage against its ideal, over real HTTP to the simulator (its own process).

Synthesizes `--dialogues` dialogues (default 300) through the stage kit exactly as the flow
does (plan, then run_shard per shard), with generated personas, while every request the
gateway sends is recorded with the dialogue it is for. The ideal wall time is

    latency x max(total calls / concurrency, the longest dialogue's chain of calls)

since a dialogue's turns are sequential and the endpoint serves `concurrency` calls at once.
Target: stage time <= 1.15 x the ideal (default: 200 ms latency, 64 in flight).

`--scale` is the paper-scale run instead: enough dialogues for about 11,000 judged 5/5 (the
size of the published RoleCS) at 20 ms latency, measured at 1k, then growing to the full
size, so the report shows how wall time grows; it also reports peak RSS (target < 2 GB) and
the warehouse's size. Its "accepted" is the judge's count (the stage's kept): the flow's
near-duplicate check, which runs after the stage, is not part of it. Last line: one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET = 1.15
SCALE_ACCEPTED = 11_000  # the published RoleCS has 11,232 dialogues
RSS_TARGET_MB = 2_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def personas_for(dialogues: int) -> int:
    """Personas so that personas x 7 topics covers `dialogues` (each language half)."""
    return 2 * math.ceil(dialogues / 2 / 7) + 2


def synthesize(per_language: int, batch: str) -> dict[str, Any]:
    """One batch through the kit, as flows/rolecs.py runs it; its figures."""
    from csc.kit import runner
    from csc.rolecs.stage import RolecsStage

    stage = RolecsStage.ref(batch=batch).build()
    start, cpu = time.perf_counter(), time.process_time()
    counts = runner.run_all(stage, f"bench-{batch}", limit=per_language, batch_size=50)
    if not counts.reconciles:
        raise SystemExit(f"counts do not reconcile: {counts.as_dict()}")
    totals = {k: getattr(counts, k) for k in ("input", "kept", "rejected", "dead", "deferred")}
    return {**totals, "wall_s": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu}


def setup(tmp: Path, concurrency: int, personas: int) -> None:
    os.environ.update(CSC_WAREHOUSE=str(tmp / "wh.duckdb"), CSC_LLM_CACHE=str(tmp / "llm.sqlite"),
                      CSC_OUT=str(tmp / "out"), CSC_LLM_API_KEY="sim-key",
                      CSC_LLM_MODEL="sim-default", CSC_LLM_CONCURRENCY=str(concurrency))
    from csc.rolecs.intake import load_generated

    load_generated(personas, seed=1)


def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from bench.csconv_stage import Recorder, cpu_of
    from simulator import SimConfig, SimulatorProcess

    setup(tmp, args.concurrency, personas_for(args.dialogues))
    recorder = Recorder()
    recorder.install()
    with SimulatorProcess(SimConfig(seed=1, latency_ms=args.latency_ms)) as sim:
        os.environ["CSC_LLM_BASE_URL"] = sim.base_url
        sim_cpu = cpu_of(sim)
        run = synthesize(args.dialogues // 2, "bench")
        sim_cpu = cpu_of(sim) - sim_cpu
        in_flight = sim.stats().get("max_in_flight")
    chains = recorder.chains()
    calls = len(recorder.calls)
    longest = max(map(len, chains), default=0)
    ideal = args.latency_ms / 1000 * max(calls / args.concurrency, longest)
    ratio = run["wall_s"] / ideal if ideal else float("nan")
    print(f"{run['input']} dialogues in {run['wall_s']:.2f} s "
          f"({60 * run['input'] / run['wall_s']:.0f}/min), {calls} calls, longest chain "
          f"{longest}; ideal {ideal:.2f} s; ratio {ratio:.3f} (target <= {TARGET}); "
          f"accepted {run['kept']}, rejected {run['rejected']}, dead {run['dead']}; "
          f"{run['cpu_s']:.1f} CPU-s here, {sim_cpu:.1f} in the simulator", flush=True)
    return {"bench": "rolecs", "dialogues": run["input"], "calls": calls,
            "longest_chain": longest, "latency_ms": args.latency_ms,
            "concurrency": args.concurrency, "wall_s": round(run["wall_s"], 3),
            "dialogues_per_min": round(60 * run["input"] / run["wall_s"], 1),
            "ideal_s": round(ideal, 3), "ratio": round(ratio, 3), "target": TARGET,
            "met": ratio <= TARGET, "accepted": run["kept"], "rejected": run["rejected"],
            "dead": run["dead"], "client_cpu_s": round(run["cpu_s"], 2),
            "sim_cpu_s": round(sim_cpu, 2), "sim_max_in_flight": in_flight,
            "machine": f"{os.cpu_count()} cores"}


def scale(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """About SCALE_ACCEPTED accepted dialogues: a first batch of 1,000, then batches until
    the accepted count reaches the target; wall time per batch shows the growth."""
    from simulator import SimConfig, SimulatorProcess

    wanted = args.accepted
    setup(tmp, args.concurrency, personas_for(3 * wanted))  # a pool larger than needed
    steps, accepted, made, start = [], 0, 0, time.perf_counter()
    with SimulatorProcess(SimConfig(seed=1, latency_ms=args.latency_ms)) as sim:
        os.environ["CSC_LLM_BASE_URL"] = sim.base_url
        size = 1000
        while accepted < wanted:
            run = synthesize(size // 2, f"scale-{len(steps)}")
            if run["input"] == 0:
                raise SystemExit("the persona pool ran out before the target")
            made, accepted = made + run["input"], accepted + run["kept"]
            steps.append({"dialogues": made, "accepted": accepted,
                          "batch_wall_s": round(run["wall_s"], 2),
                          "elapsed_s": round(time.perf_counter() - start, 2),
                          "per_1k_s": round(1000 * run["wall_s"] / run["input"], 2)})
            print(json.dumps(steps[-1]), flush=True)
            left = wanted - accepted
            rate = max(accepted / made, 0.05)
            size = max(2, min(4000, math.ceil(left / rate * 1.05)))
    db = Path(os.environ["CSC_WAREHOUSE"])
    return {"bench": "rolecs_scale", "latency_ms": args.latency_ms,
            "concurrency": args.concurrency, "dialogues": made, "accepted": accepted,
            "wall_s": round(time.perf_counter() - start, 1), "steps": steps,
            "peak_rss_mb": round(peak_rss_mb()), "rss_target_mb": RSS_TARGET_MB,
            "warehouse_mb": round(db.stat().st_size / 1e6, 1),
            "rss_met": peak_rss_mb() < RSS_TARGET_MB, "machine": f"{os.cpu_count()} cores"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dialogues", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=None,
                        help="simulator latency (default 200; 20 with --scale)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--scale", action="store_true",
                        help=f"paper scale: about {SCALE_ACCEPTED:,} accepted dialogues")
    parser.add_argument("--accepted", type=int, default=SCALE_ACCEPTED,
                        help="with --scale: the accepted dialogues to reach")
    args = parser.parse_args()
    if args.latency_ms is None:
        args.latency_ms = 20.0 if args.scale else 200.0
    tmp = Path(tempfile.mkdtemp(prefix="bench-rolecs-"))
    try:
        result = scale(args, tmp) if args.scale else bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
