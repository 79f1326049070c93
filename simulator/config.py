"""Simulator settings: a seed, latency, and the rate of every fault it can inject.

Frozen, so the server swaps the whole object when /sim/config merges new fields in and a
request never sees half an update.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from csc.llm import sim_contract
from csc.llm.sim_contract import ENV_PREFIX

# Faults that `with_fault_rate` sets together; hangs have their own knob because a hang costs
# the client a whole timeout, which a "20% faults" run should not pay by default.
FAULT_RATES = ("rate_429", "rate_500", "rate_malformed", "rate_fenced", "rate_reasoning",
               "rate_multi_strategy")

Rate = Field(default=0.0, ge=0.0, le=1.0)


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    latency_ms: float = Field(default=0.0, ge=0.0)  # fixed delay before every answer
    latency_jitter_ms: float = Field(default=0.0, ge=0.0)  # plus uniform(0, jitter)
    rate_429: float = Rate
    retry_after_s: float = Field(default=1.0, ge=0.0)  # Retry-After of a simulated 429
    rate_500: float = Rate
    rate_hang: float = Rate
    hang_s: float = Field(default=30.0, ge=0.0)  # how long a hung request sleeps
    rate_malformed: float = Rate
    rate_fenced: float = Rate
    rate_reasoning: float = Rate
    rate_multi_strategy: float = Rate

    def merged(self, fields: dict[str, Any]) -> SimConfig:
        """A copy with `fields` merged in, validated like a fresh config."""
        return SimConfig.model_validate({**self.model_dump(), **fields})

    def with_fault_rate(self, rate: float) -> SimConfig:
        """Every fault rate except hangs set to `rate`."""
        return self.merged({name: rate for name in FAULT_RATES})

    def identity(self) -> str:
        """For the LLM cache key: csc.llm.sim_contract.identity, which csc computes from the
        environment without importing the simulator."""
        return sim_contract.identity(self.seed)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SimConfig:
        """CSC_SIM_<FIELD> (e.g. CSC_SIM_SEED, CSC_SIM_RATE_429); CSC_SIM_FAULT_RATE first sets
        every fault rate except hangs, and the specific variables override it."""
        env = os.environ if environ is None else environ
        config = cls()
        fault = (env.get(ENV_PREFIX + "FAULT_RATE") or "").strip()
        if fault:
            config = config.with_fault_rate(float(fault))
        fields = {}
        for name in cls.model_fields:
            raw = (env.get(ENV_PREFIX + name.upper()) or "").strip()
            if raw:
                fields[name] = raw
        return config.merged(fields) if fields else config
