"""Offline, deterministic stand-in for an OpenAI-compatible endpoint (demo and tests only).

Every model it serves is named `sim-*`; its answers are heuristics and templates, never a
model's results. See `server` for the HTTP API and `config.SimConfig` for the fault knobs.
"""

from csc.simulator.config import SimConfig
from csc.simulator.runner import RunningSimulator, SimulatorProcess, run_in_thread
from csc.simulator.server import create_app

__all__ = ["RunningSimulator", "SimConfig", "SimulatorProcess", "create_app", "run_in_thread"]
