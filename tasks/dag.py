"""Running the nightly's stages in order, where a failed stage stops only what depends on it.

Each stage is a flow (or task) called with `return_state=True`: its failure is a state to
read, not an exception that ends the night. A stage whose prerequisites did not all complete
is skipped, saying which. The summary keeps, per stage, its status, duration, the figures it
reports (counts, LLM calls, cache hits, cost, dead letters) and why it failed or was skipped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from csc.errors import RuntimeFailure
from csc.progress import duration, money

COMPLETED, FAILED, SKIPPED = "completed", "failed", "skipped"
_LLM_KEYS = ("calls", "cache_hits", "cost_usd")


class StagesFailed(RuntimeFailure):
    """Some stages of a run failed: the run is failed, after every independent stage ran."""


@dataclass
class Dag:
    """The stages run so far, in order, with what each reported. `on_change(dag, running)`
    is told before each stage starts and once at the end (running None): the nightly's
    progress artifact."""

    total: int = 0
    on_change: Callable[[Dag, str | None], None] | None = None
    stages: dict[str, dict] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def _tell(self, running: str | None) -> None:
        if self.on_change is not None:
            with contextlib.suppress(Exception):  # progress is for people: never fails a night
                self.on_change(self, running)

    def progress_line(self, running: str | None) -> str:
        """'3/7 stages (ingest ✓, csconv ✓, rolecs ✗); running quality; 52s; 120 LLM calls,
        $0.0123 so far'."""
        marks = {COMPLETED: "✓", FAILED: "✗", SKIPPED: "-"}
        done = ", ".join(f"{n} {marks[s['status']]}" for n, s in self.stages.items())
        calls = sum(s.get("llm", {}).get("calls", 0) for s in self.stages.values())
        cost = sum(s.get("llm", {}).get("cost_usd", 0) for s in self.stages.values())
        now = f"running {running}" if running else "finished"
        return (f"{len(self.stages)}/{self.total or len(self.stages)} stages ({done or '-'}); "
                f"{now}; {duration(time.monotonic() - self.started)}; "
                f"{calls} LLM calls, {money(cost)} so far")

    def run(self, name: str, call: Callable[..., Any], *args: Any,
            needs: Iterable[str] = (), shape: Callable[[Any], dict] | None = None,
            **kwargs: Any) -> Any:
        """Run one stage unless a prerequisite did not complete; its result, or None."""
        blocked = [n for n in needs if self.stages.get(n, {}).get("status") != COMPLETED]
        if blocked:
            self.stages[name] = {"status": SKIPPED,
                                 "reason": f"needs {', '.join(blocked)}, which did not complete"}
            return None
        self._tell(name)
        started = time.monotonic()
        state = call(*args, return_state=True, **kwargs)
        took = round(time.monotonic() - started, 2)
        if not state.is_completed():
            self.stages[name] = {"status": FAILED, "duration_s": took, "error": _why(state, name)}
            return None
        result = state.result()
        kept = shape(result) if shape else (result if isinstance(result, dict) else {})
        self.stages[name] = {"status": COMPLETED, "duration_s": took, **kept, **figures(result)}
        return result

    def finish(self) -> None:
        self._tell(None)

    def failed(self) -> list[str]:
        return [n for n, s in self.stages.items() if s["status"] == FAILED]

    def raise_if_failed(self) -> None:
        """End the run as failed, naming each failed stage and what it stopped."""
        failed = self.failed()
        if not failed:
            return
        skipped = [n for n, s in self.stages.items() if s["status"] == SKIPPED]
        # what went wrong first, said once even when it failed several stages (an LLM
        # cache that is corrupt fails every LLM stage the same way)
        by_error: dict[str, list[str]] = {}
        for n in failed:
            by_error.setdefault(self.stages[n]["error"], []).append(n)
        said = "; ".join(f"{error} ({' and '.join(names)} failed)"
                         for error, names in by_error.items())
        tail = f"; skipped as a result: {', '.join(skipped)}" if skipped else ""
        raise StagesFailed(said + tail)

    def markdown(self) -> str:
        """The run summary as a Markdown table (the Prefect artifact)."""
        rows = ["| stage | status | seconds | LLM calls | cache hits | cost (USD) | dead "
                "letters | note |", "|---|---|---:|---:|---:|---:|---:|---|"]
        for name, s in self.stages.items():
            llm = s.get("llm", {})
            note = s.get("error") or s.get("reason") or ""
            rows.append(f"| {name} | {s['status']} | {s.get('duration_s', '')} | "
                        f"{llm.get('calls', '')} | {llm.get('cache_hits', '')} | "
                        f"{llm.get('cost_usd', '')} | {s.get('dead_letters', '')} | "
                        f"{note.replace('|', '/')} |")
        return "\n".join(rows)


def _why(state: Any, name: str) -> str:
    """The failure's own message: the exception a task raised or a refused flow carries,
    without Prefect's "Task run encountered an exception" wrapping."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # a result that cannot be read back: the state's message must do
        exc = None
    if isinstance(exc, BaseException) and str(exc):
        return str(exc)
    return state.message or f"{name} ended {state.name}"


def figures(result: Any) -> dict:
    """The LLM figures and dead letters a stage's result reports, summed over its parts."""
    llm = {k: 0 for k in _LLM_KEYS}
    dead = 0
    seen = False
    for part in _parts(result):
        if isinstance(part.get("llm"), dict):
            seen = True
            for k in _LLM_KEYS:
                llm[k] += part["llm"].get(k) or 0
        if isinstance(part.get("dead"), int):
            dead += part["dead"]
    out: dict = {"dead_letters": dead}
    if seen:
        out["llm"] = llm | {"cost_usd": round(llm["cost_usd"], 6)}
    return out


def _parts(result: Any) -> Iterable[dict]:
    """The result and the per-run dicts it lists (evaluate reports one per model and
    setting), so each LLM call is counted once."""
    if not isinstance(result, dict):
        return []
    listed = [p for key in ("runs", "judges") for p in result.get(key) or []
              if isinstance(p, dict)]
    return listed or [result]
