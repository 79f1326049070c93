"""Offline, deterministic stand-in for an OpenAI-compatible endpoint (demo and tests only).

Every model it serves is named `sim-*`; its answers are heuristics and templates, never a
model's results. See `server` for the HTTP API, `config.SimConfig` for the fault knobs and
`requestlog` for the log of every request received (CSC_SIMULATOR_REQUEST_LOG).
"""

from simulator.config import SimConfig
from simulator.requestlog import REQUEST_LOG_ENV, read_request_log
from simulator.runner import RunningSimulator, SimulatorProcess, run_in_thread
from simulator.server import create_app

__all__ = ["REQUEST_LOG_ENV", "RunningSimulator", "SimConfig", "SimulatorProcess", "create_app",
           "read_request_log", "run_in_thread"]
