"""How long the everyday `csc` commands take, as a user types them.

Builds a small warehouse once (the nightly DAG on the bundled samples, against the offline
simulator), then times each command as a fresh process, several times, and reports the
median. Commands that run no flow must start no Prefect server; a run with nothing pending
must say so before one starts. Target: each under 2 s on the project's 2-core machine.

    .venv/bin/python bench/cli_latency.py [--repeat 5] [--root OTHER_CHECKOUT]

`--root` times another checkout (e.g. a worktree of an older commit) with this interpreter,
for before/after figures. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
COMMANDS = {
    "status": ["status"],
    "sources": ["sources"],
    "export csconv": ["export", "csconv", "--format", "jsonl", "--out", "{tmp}/export.jsonl"],
    "run csconv (nothing pending)": ["run", "csconv"],
    "--help": ["--help"],
}
TARGET_S = 2.0


def csc(root: Path, args: list[str], env: dict) -> subprocess.CompletedProcess:
    code = f"import sys; sys.path.insert(0, {str(root)!r}); from cli.main import main; " \
           "sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per command (default 5)")
    ap.add_argument("--root", type=Path, default=HERE, help="checkout to time (default: this)")
    args = ap.parse_args()
    root = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="csc-cli-bench-") as tmp:
        env = dict(os.environ, CSC_WAREHOUSE=f"{tmp}/wh.duckdb", CSC_OUT=f"{tmp}/out",
                   CSC_REPORTS=f"{tmp}/out/reports", CSC_LLM_BASE_URL="simulator",
                   PREFECT_HOME=f"{tmp}/prefect", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   DO_NOT_TRACK="1", PYTHONPATH=str(root))
        env.pop("PREFECT_API_URL", None)
        t0 = time.perf_counter()
        built = csc(root, ["run", "nightly", "--drop", str(root / "samples" / "raw")], env)
        if built.returncode != 0:
            print(built.stdout[-2000:], built.stderr[-2000:], file=sys.stderr)
            return 1
        print(f"warehouse built in {time.perf_counter() - t0:.1f} s", flush=True)
        figures: dict[str, float] = {}
        for name, argv in COMMANDS.items():
            argv = [a.format(tmp=tmp) for a in argv]
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                done = csc(root, argv, env)
                times.append(time.perf_counter() - t)
                if done.returncode not in (0, 1):
                    print(f"{name}: exit {done.returncode}: {done.stderr[-500:]}",
                          file=sys.stderr)
            figures[name] = round(statistics.median(times), 2)
            print(f"{name:<32} median {figures[name]:.2f} s  (runs: "
                  f"{', '.join(f'{t:.2f}' for t in times)})", flush=True)
    slowest = max(figures.values())
    print(json.dumps({"benchmark": "cli_latency", "root": str(root), "repeat": args.repeat,
                      "median_s": figures, "target_s": TARGET_S,
                      "met": slowest < TARGET_S}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
