"""What csc knows of the offline simulator without importing it: how to start one, and the
identity its answers are cached under.

The simulator is its own top-level package (`simulator/`, beside `csc/`; demo and tests only),
and production code never imports it (tests/test_layers.py). CSC_LLM_BASE_URL=simulator is
resolved to a process started here, `python -m simulator`, whose first line on stdout is
`SIMULATOR LISTENING <base_url>`. The LLM cache key needs the simulator's identity before any
such process runs (and whether one runs at all), so the identity is computed here from the
simulator's source files and CSC_SIM_SEED; the simulator's own `SimConfig.identity`, its
ready line and its parent watch use the names below, so each is said once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx
from pydantic import TypeAdapter

PACKAGE = "simulator"
ROOT = Path(__file__).resolve().parents[2]  # the folder holding csc/ and simulator/
SOURCE = ROOT / PACKAGE
ENV_PREFIX = "CSC_SIM_"  # CSC_SIM_<SimConfig field>, read by the simulator
SEED_ENV = ENV_PREFIX + "SEED"
PARENT_PID_ENV = ENV_PREFIX + "PARENT_PID"  # the child stops once this process is gone
LISTENING = "SIMULATOR LISTENING"  # first stdout line of `python -m simulator`, then its URL
_SEED = TypeAdapter(int)  # SimConfig.seed's type: the same values are read the same way


@functools.cache
def code_version(source: Path = SOURCE) -> str:
    """A digest of the simulator's source: a change to how it answers is a new identity."""
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def identity(seed: int) -> str:
    """What shapes the simulator's answers, for the LLM cache key: its code and its seed.
    Not its port (random per process) nor its fault rates (a faulty answer is never
    cached, and a good one is the same with or without faults)."""
    return f"simulator@{code_version()}:seed={seed}"


def seed_from_env(environ: Mapping[str, str] | None = None) -> int:
    """CSC_SIM_SEED as the simulator reads it (SimConfig.from_env): unset or blank is 0."""
    env = os.environ if environ is None else environ
    raw = (env.get(SEED_ENV) or "").strip()
    return _SEED.validate_python(raw) if raw else 0


def identity_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The identity of the simulator `launch()` would start with this environment."""
    return identity(seed_from_env(environ))


class Launched:
    """A started `python -m simulator`: its process and the base URL it serves."""

    def __init__(self, proc: subprocess.Popen, base_url: str = "") -> None:
        self.proc = proc
        self.base_url = base_url

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def wait_healthy(self, timeout: float) -> None:
        """Return once GET /health answers 200; stop the process and raise if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.root}/health", timeout=2).status_code == 200:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the simulator process never answered /health")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def _drain(stream: IO[str], lines: queue.Queue[str]) -> None:
    """Hand over the first line, then keep the pipe empty so the child never blocks."""
    for n, line in enumerate(stream):
        if n == 0:
            lines.put(line.strip())
    lines.put("")


def launch(port: int = 0, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None,
           startup_timeout: float = 30.0) -> Launched:
    """Start `python -m simulator --port PORT ARGS` on loopback and wait until it answers;
    port 0 (the default) lets it pick a free one, which its ready line names.

    The child gets `env` (default: this process's environment, so its CSC_SIM_* settings and
    CSC_SIMULATOR_REQUEST_LOG are the ones this process has), finds the simulator beside csc/
    and stops once this process is gone. RuntimeError when it does not start."""
    child_env = dict(os.environ if env is None else env)
    child_env[PARENT_PID_ENV] = str(os.getpid())
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen([sys.executable, "-m", PACKAGE, "--port", str(port), *args],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            env=child_env, cwd=str(ROOT))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
    try:
        line = lines.get(timeout=startup_timeout)
    except queue.Empty:
        line = ""
    launched = Launched(proc)
    if not line.startswith(LISTENING):
        launched.stop()
        raise RuntimeError(f"the simulator process did not start (said: {line!r})")
    launched.base_url = line.split()[-1]
    launched.wait_healthy(startup_timeout)
    return launched
