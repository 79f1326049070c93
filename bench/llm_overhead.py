"""What the LLM gateway costs on top of the raw SDK, over real HTTP to the simulator.

(a) floor: a plain asyncio loop with the raw `openai` SDK and a semaphore;
(b) the gateway with the cache off (limits, retries, parsing, validation, call log);
(c) a rerun through the gateway with the cache warm (no HTTP at all).

Targets: b/a <= 1.15 and c < 5% of b. The simulator runs in its own process, so the client
side is measured alone. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from csc.llm.gateway import LLMGateway, LLMRequest, LLMResult
from csc.llm.journal import Journal
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import ROLE_HEADER, PrefilterVerdict, Role
from simulator import SimConfig, SimulatorProcess


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


async def floor(url: str, reqs: list[LLMRequest], concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=url, api_key="sim-key", max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(req: LLMRequest) -> str:
        async with sem:
            resp = await client.chat.completions.create(
                model="sim-prefilter_judge", messages=req.messages, temperature=0.0,
                extra_headers={ROLE_HEADER: req.role.value})
            return resp.choices[0].message.content or ""

    start = time.perf_counter()
    answers = await asyncio.gather(*(one(r) for r in reqs))
    elapsed = time.perf_counter() - start
    await client.close()
    assert len(answers) == len(reqs)
    return elapsed


async def through_gateway(url: str, reqs: list[LLMRequest], concurrency: int, journal: Journal,
                          *, use_cache: bool, run_id: str) -> tuple[float, LLMGateway]:
    gw = LLMGateway(settings(url, concurrency), journal, run_id=run_id, stage="bench",
                    use_cache=use_cache)
    start = time.perf_counter()
    results = await gw.run_all(reqs)
    elapsed = time.perf_counter() - start
    await gw.aclose()
    assert all(isinstance(r, LLMResult) for r in results), "every bench call must succeed"
    return elapsed, gw


async def main_async(args: argparse.Namespace) -> dict:
    reqs = requests(args.requests)
    config = SimConfig(seed=1, latency_ms=args.latency_ms)
    with SimulatorProcess(config) as sim, tempfile.TemporaryDirectory() as tmp:
        url = sim.base_url
        await floor(url, reqs[:50], args.concurrency)  # warm up connections and imports
        a = await floor(url, reqs, args.concurrency)
        print(f"(a) raw SDK floor:          {a:7.2f} s", flush=True)
        b_journal = Journal(Path(tmp) / "b.sqlite")
        b, _ = await through_gateway(url, reqs, args.concurrency, b_journal, use_cache=False,
                                     run_id="b")
        print(f"(b) gateway, cache off:     {b:7.2f} s  (b/a = {b / a:.3f})", flush=True)
        journal = Journal(Path(tmp) / "c.sqlite")
        cold, _ = await through_gateway(url, reqs, args.concurrency, journal, use_cache=True,
                                        run_id="cold")
        print(f"    gateway, cache cold:    {cold:7.2f} s", flush=True)
        c, gw = await through_gateway(url, reqs, args.concurrency, journal, use_cache=True,
                                      run_id="warm")
        print(f"(c) gateway, cache warm:    {c:7.2f} s  ({100 * c / b:.1f}% of b, "
              f"{gw.stats.cache_hits} hits)", flush=True)
        served = sim.stats()
    ratio = b / a
    return {
        "bench": "llm_overhead", "requests": args.requests, "latency_ms": args.latency_ms,
        "concurrency": args.concurrency, "floor_s": round(a, 3), "gateway_nocache_s": round(b, 3),
        "gateway_cold_cache_s": round(cold, 3), "gateway_warm_cache_s": round(c, 3),
        "ratio_b_over_a": round(ratio, 3), "warm_pct_of_b": round(100 * c / b, 2),
        "sim_max_in_flight": served.get("max_in_flight"),
        "target_ratio": 1.15, "target_warm_pct": 5.0,
        "meets_targets": ratio <= 1.15 and c < 0.05 * b, "machine": "2 cores",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="300 requests")
    args = parser.parse_args()
    if args.quick:
        args.requests = 300
    result = asyncio.run(main_async(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
