"""`python -m simulator`: serve the offline OpenAI-compatible simulator on loopback.

Prints a banner on stderr, then `SIMULATOR LISTENING <base_url>` on stdout (what
csc.llm.sim_contract.launch waits for), and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from csc.llm.sim_contract import LISTENING, PARENT_PID_ENV
from simulator.config import SimConfig
from simulator.requestlog import REQUEST_LOG_ENV
from simulator.runner import SimServer, base_url_of, bind, uvicorn_config

BANNER = ("csc simulator: offline stand-in for an OpenAI-compatible endpoint; its answers are "
          "not a model's results")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csc simulator", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="loopback only (default 127.0.0.1)")
    p.add_argument("--config-json", metavar="JSON",
                   help="SimConfig fields as JSON, over CSC_SIM_* variables (default: none)")
    p.add_argument("--seed", type=int,
                   help="seed of the fault draws and answer variants (default: $CSC_SIM_SEED, "
                        "else 0)")
    p.add_argument("--latency-ms", type=float, metavar="MS",
                   help="delay before every answer, in milliseconds (default: "
                        "$CSC_SIM_LATENCY_MS, else 0)")
    p.add_argument("--request-log", metavar="PATH",
                   help="append one JSON line per chat-completions request to PATH (default: "
                        f"${REQUEST_LOG_ENV}, else no log)")
    p.add_argument("--fault-rate", type=float, metavar="RATE",
                   help="share of requests given each fault, every fault kind but hangs, "
                        "0 to 1 (default: $CSC_SIM_* rates, else 0)")
    return p


def make_config(args: argparse.Namespace) -> SimConfig:
    config = SimConfig.from_env()
    if args.config_json:
        config = config.merged(json.loads(args.config_json))
    if args.fault_rate is not None:
        config = config.with_fault_rate(args.fault_rate)
    if args.seed is not None:
        config = config.merged({"seed": args.seed})
    if args.latency_ms is not None:
        config = config.merged({"latency_ms": args.latency_ms})
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.host not in LOOPBACK:
        print(f"csc simulator: --host must be a loopback address ({', '.join(LOOPBACK)})",
              file=sys.stderr)
        return 2
    try:
        config = make_config(args)
        served = uvicorn_config(config, quiet_logging=False, request_log=args.request_log)
        sock = bind("127.0.0.1" if args.host == "localhost" else args.host, args.port)
    except (ValueError, OSError) as exc:  # a bad setting, a taken port, an unwritable log
        print(f"csc simulator: {exc}", file=sys.stderr)
        return 2
    print(BANNER, file=sys.stderr, flush=True)
    print(f"{LISTENING} {base_url_of(sock)}", flush=True)
    parent = os.environ.get(PARENT_PID_ENV, "")  # set by csc.llm.sim_contract.launch
    server = SimServer(served, parent_pid=int(parent) if parent.isdigit() else None)
    for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises them after a clean stop
        try:
            signal.signal(sig, lambda *_: None)
        except ValueError:  # not the main thread: uvicorn does not catch signals there either
            break
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
