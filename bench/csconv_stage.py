"""Throughput of the CSConv stage against an endpoint with realistic latency (the simulator at
300 ms per answer, in its own process): dialogues per second through pre-filter, rewrite,
post-filter and judge, and what a rerun costs. For capacity planning of nightly runs.

Input: the rule-passed dialogues of the STC-3 Chinese training file when ../shared/corpora is
there (read at bench time, never copied), else the bundled samples. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpora" / "stc3-dch1" / "train_data_cn.json.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--limit", type=int, default=None, help="dialogues per language")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-csconv-"))
    os.environ.update(CSC_WAREHOUSE=str(tmp / "wh.duckdb"), CSC_LLM_CACHE=str(tmp / "llm.sqlite"),
                      CSC_OUT=str(tmp / "out"), CSC_LLM_API_KEY="sim-key",
                      CSC_LLM_MODEL="sim-default", CSC_LLM_CONCURRENCY=str(args.concurrency))

    from csc.csconv import plan as planning
    from csc.csconv import service
    from csc.ingest.service import ingest_path
    from csc.paths import SAMPLES
    from csc.simulator import SimConfig, SimulatorProcess

    source, path = ("stc3", CORPUS) if CORPUS.is_file() else (None, SAMPLES)
    ingest_path(path, "bench-ingest", source=source)
    with SimulatorProcess(SimConfig(seed=1, latency_ms=args.latency_ms)) as sim:
        os.environ["CSC_LLM_BASE_URL"] = sim.base_url
        batches = planning.plan(args.batch_size, args.limit)
        dialogues = sum(len(b.ids) for b in batches)
        print(f"{dialogues} dialogues in {len(batches)} batches; latency {args.latency_ms} ms, "
              f"{args.concurrency} in flight", flush=True)
        start = time.perf_counter()
        totals = {"kept": 0, "rejected": 0, "dead": 0, "calls": 0}
        for batch in batches:
            counts = service.run_batch(batch, "bench-run")
            for key in ("kept", "rejected", "dead"):
                totals[key] += counts[key]
            totals["calls"] += counts["llm"].get("cache_misses", 0)
        first = time.perf_counter() - start
        print(f"first run: {first:.1f} s, {dialogues / first:.1f} dialogues/s, "
              f"{totals['calls'] / first:.1f} LLM calls/s", flush=True)
        start = time.perf_counter()
        again = planning.plan(args.batch_size, args.limit)
        rerun = time.perf_counter() - start
        served = sim.stats()
    print(f"rerun: {sum(len(b.ids) for b in again)} dialogues pending, planned in {rerun:.2f} s")
    result = {
        "bench": "csconv_stage", "input": str(path.name), "dialogues": dialogues,
        "latency_ms": args.latency_ms, "concurrency": args.concurrency,
        "seconds": round(first, 2), "dialogues_per_s": round(dialogues / first, 2),
        "llm_calls": totals["calls"], "llm_calls_per_s": round(totals["calls"] / first, 1),
        "kept": totals["kept"], "rejected": totals["rejected"], "dead": totals["dead"],
        "sim_max_in_flight": served.get("max_in_flight"),
        "rerun_pending": sum(len(b.ids) for b in again), "rerun_plan_s": round(rerun, 3),
        "machine": "2 cores",
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
