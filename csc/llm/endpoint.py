"""Turn settings into a live endpoint: a real URL as given, or the offline simulator started in
the background when (and only when) CSC_LLM_BASE_URL=simulator: a `python -m simulator`
process (csc.llm.sim_contract), never an import of the simulator's code."""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csc.llm.gateway import LLMGateway
from csc.llm.journal import Journal
from csc.llm.settings import LLMSettings, load_settings
from csc.llm.sim_contract import Launched, launch
from schemas.llm import STAGE_ROLES
from warehouse.db import warehouse_path

BANNER = ("*** SIMULATOR: LLM answers in this run come from the offline csc simulator, not "
          "from a model. Never report them as a model's results. ***")

_lock = threading.Lock()
_simulator: Launched | None = None  # one background simulator per process
_bannered: set[str] = set()  # runs already told that the simulator answers them


def simulator_url() -> str:
    """Start the simulator subprocess once per process; stopped when the process exits. It
    reads its settings (CSC_SIM_*) from the environment it inherits, as the cache key's
    identity does (LLMSettings.endpoint_identity)."""
    global _simulator
    with _lock:
        if _simulator is None:
            _simulator = launch()
            atexit.register(_simulator.stop)
        return _simulator.base_url


def resolve(settings: LLMSettings) -> LLMSettings:
    """Settings whose base_url is a real URL (the simulator's, if it was chosen)."""
    if not settings.is_simulator:
        return settings
    return settings.with_base_url(simulator_url(), identity=settings.endpoint_identity)


def journal_path(settings: LLMSettings) -> Path:
    return settings.cache_path or warehouse_path().with_name("llm_cache.sqlite")


@contextmanager
def open_journal(settings: LLMSettings) -> Iterator[Journal]:
    journal = Journal(journal_path(settings))
    try:
        yield journal
    finally:
        journal.close()


def gateway(settings: LLMSettings | None, journal: Journal, *, run_id: str, stage: str,
            refresh: bool = False) -> LLMGateway:
    """A gateway for one stage run; `settings` None means: load them from the environment."""
    settings = settings or load_settings(roles=STAGE_ROLES.get(stage))
    if settings.uses_simulator and run_id not in _bannered:  # once per run, not per batch
        _bannered.add(run_id)
        print(BANNER, file=sys.stderr, flush=True)
    return LLMGateway(resolve(settings), journal, run_id=run_id, stage=stage, refresh=refresh)
