"""Start the simulator: in a background thread (tests) or as a subprocess (demo, benchmarks).

Both bind 127.0.0.1 only and, asked for port 0, bind the socket themselves so the real port is
known before the first request.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from csc.llm.sim_contract import Launched, launch
from simulator.config import SimConfig
from simulator.requestlog import REQUEST_LOG_ENV
from simulator.server import create_app

HOST = "127.0.0.1"


def bind(host: str = HOST, port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free one. proto=IPPROTO_TCP matters: asyncio sets
    TCP_NODELAY only on sockets that say so, and without it every keep-alive answer waits
    ~40 ms for a delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"


def uvicorn_config(config: SimConfig, *, quiet_logging: bool,
                   request_log: str | Path | None = None) -> uvicorn.Config:
    extra: dict[str, Any] = {"log_config": None} if quiet_logging else {}
    return uvicorn.Config(create_app(config, request_log), log_level="warning",
                          access_log=False,
                          http="h11", loop="asyncio", lifespan="off",
                          timeout_graceful_shutdown=1, timeout_keep_alive=30, **extra)


# Bound at import: tests of the client often monkeypatch asyncio.sleep, and a simulator that
# runs in the same process must keep its own clock (and stay out of their recorded waits).
_sleep = asyncio.sleep


class SimServer(uvicorn.Server):
    """uvicorn's Server whose housekeeping tick sleeps on the unpatched asyncio.sleep and,
    given `parent_pid`, exits once that parent is gone (no orphan after a crashed run)."""

    def __init__(self, config: uvicorn.Config, parent_pid: int | None = None) -> None:
        super().__init__(config)
        self.parent_pid = parent_pid

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            await _sleep(0.1)
            if self.parent_pid and counter % 10 == 0 and os.getppid() != self.parent_pid:
                self.should_exit = True
            should_exit = await self.on_tick(counter)


class _Control:
    """The control endpoints over HTTP, shared by both ways of running the simulator."""

    base_url: str

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/sim/stats", timeout=10).json()

    def configure(self, **fields: Any) -> dict[str, Any]:
        """Merge SimConfig fields into the running simulator's config."""
        resp = httpx.post(f"{self.root}/sim/config", json=fields, timeout=10)
        if resp.status_code != 200:
            raise ValueError(resp.json()["error"]["message"])
        return resp.json()

    def reset(self) -> None:
        httpx.post(f"{self.root}/sim/reset", timeout=10).raise_for_status()


class RunningSimulator(_Control):
    """A uvicorn server in a daemon thread with its own event loop."""

    def __init__(self, config: SimConfig, port: int = 0,
                 request_log: str | Path | None = None) -> None:
        self._sock = bind(HOST, port)
        self.base_url = base_url_of(self._sock)
        self._server = SimServer(uvicorn_config(config, quiet_logging=True,
                                                request_log=request_log))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="csc-simulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator thread did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        self._sock.close()
        self._server.config.app.state.sim.close()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(config: SimConfig | None = None, port: int = 0,
                  request_log: str | Path | None = None) -> RunningSimulator:
    """Serve the simulator from this process; use as a context manager. `request_log` (else
    $CSC_SIMULATOR_REQUEST_LOG) gets a line per chat-completions request."""
    return RunningSimulator(config or SimConfig(), port, request_log)


class SimulatorProcess(_Control):
    """`python -m simulator` as a child process, started as csc starts one
    (csc.llm.sim_contract.launch): its port is read from its first line.

    The child inherits this process's environment, CSC_SIMULATOR_REQUEST_LOG included;
    `request_log` sets that variable for the child alone."""

    def __init__(self, config: SimConfig | None = None, port: int = 0,
                 startup_timeout: float = 30.0, request_log: str | Path | None = None) -> None:
        self.config = config or SimConfig()
        self.port = port
        self.startup_timeout = startup_timeout
        self.request_log = request_log
        self.base_url = ""
        self.proc: subprocess.Popen | None = None
        self._launched: Launched | None = None

    def start(self) -> SimulatorProcess:
        env = None
        if self.request_log is not None:
            env = dict(os.environ, **{REQUEST_LOG_ENV: str(Path(self.request_log).resolve())})
        self._launched = launch(self.port, ["--config-json", json.dumps(self.config.model_dump())],
                                env=env, startup_timeout=self.startup_timeout)
        self.proc, self.base_url = self._launched.proc, self._launched.base_url
        return self

    def stop(self) -> None:
        if self._launched is not None:
            self._launched.stop()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
