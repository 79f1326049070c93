"""What every stage's items end as, and the one count record every stage reports.

An item ends kept, rejected (with the step and reason), dead (an LLM call failed for good:
dead-lettered, tried again next run) or deferred (the run's budget ran out first: tried again
next run). The counts reconcile: input = kept + rejected + dead + deferred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

STATUSES = ("kept", "rejected", "dead", "deferred")
LLM_FIGURES = ("calls", "cache_hits", "cache_misses", "dead", "cost_usd")


class HasStatus(Protocol):
    status: str


@dataclass
class Counts:
    """A stage's counts for one shard, or summed over a run (`Counts.total`)."""

    stage: str
    input: int = 0
    kept: int = 0
    rejected: int = 0
    dead: int = 0
    deferred: int = 0
    written: dict[str, int] = field(default_factory=dict)  # rows per table
    llm: dict[str, float] = field(default_factory=dict)  # LLM_FIGURES

    def add(self, outcomes: Iterable[HasStatus]) -> None:
        for o in outcomes:
            if o.status not in STATUSES:
                raise ValueError(f"unknown outcome status {o.status!r}")
            setattr(self, o.status, getattr(self, o.status) + 1)

    def add_written(self, written: dict[str, int]) -> None:
        for table, n in written.items():
            self.written[table] = self.written.get(table, 0) + n

    @property
    def reconciles(self) -> bool:
        return self.input == self.kept + self.rejected + self.dead + self.deferred

    def as_dict(self) -> dict:
        return {"stage": self.stage, "input": self.input,
                **{s: getattr(self, s) for s in STATUSES},
                "written": dict(self.written), "llm": dict(self.llm)}

    @classmethod
    def total(cls, stage: str, parts: Iterable[dict]) -> Counts:
        """Sum shard counts (as returned by Prefect tasks: dicts) into one record."""
        out = cls(stage)
        for part in parts:
            out.input += part["input"]
            for s in STATUSES:
                setattr(out, s, getattr(out, s) + part[s])
            out.add_written(part.get("written", {}))
            for k in LLM_FIGURES:
                out.llm[k] = out.llm.get(k, 0) + part.get("llm", {}).get(k, 0)
        return out
