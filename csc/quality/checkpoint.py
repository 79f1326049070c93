"""Run a real Great Expectations checkpoint over pandas frames read out of DuckDB.

GX cannot validate DuckDB through its SQL datasource, so the published tables are read into
pandas and validated. By default the context is ephemeral (nothing is written to a GX project
folder); the quality gate passes one with a Data Docs site so it can build them afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas costs 0.3 s to import; `csc export` often needs only CheckResult
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network: no usage statistics

SAMPLE_SIZE = 3  # failing values kept per expectation (masked), enough to find the rows
SAMPLE_CHARS = 120


@dataclass
class CheckResult:
    success: bool
    results: list[dict] = field(default_factory=list)

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.results if not r["success"]]

    def describe_failures(self) -> str:
        return "; ".join(
            f"{r['table']}: {r['expectation']}({r['column'] or ''}) failed for "
            f"{r['unexpected_count']} rows" for r in self.failures)


def ephemeral_context() -> Any:
    """A GX context that writes nothing, without progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _sample(values: list) -> list[str]:
    """A few failing values as text, PII masked: results end up in tables and Data Docs."""
    from csc.pii import mask_text

    return [mask_text(str(v), "en")[:SAMPLE_CHARS] for v in values[:SAMPLE_SIZE]]


def _detail(r: Any) -> dict:
    """What the gate keeps beyond the pass/fail row: severity, description, a sample."""
    cfg = r.expectation_config
    result = r.result or {}
    observed = result.get("observed_value")
    return {
        "critical": str(getattr(cfg.severity, "value", cfg.severity) or "critical")
        == "critical",
        "description": cfg.description,
        "element_count": result.get("element_count"),
        "observed_value": None if observed is None else str(observed)[:SAMPLE_CHARS],
        "sample": _sample(result.get("partial_unexpected_list") or []),
        "error": (r.exception_info or {}).get("exception_message")
        if r.exception_info and r.exception_info.get("raised_exception") else None,
    }


def run_checkpoint(name: str, tables: dict[str, tuple[pd.DataFrame, list]],
                   context: Any = None, detail: bool = False) -> CheckResult:
    """`tables`: table name -> (frame, expectations). One checkpoint validates them all.

    `context`: a GX context to run in (default: a new ephemeral one); `detail` adds the
    severity, description and a masked sample of failing values to each result."""
    import great_expectations as gx

    ctx = context if context is not None else ephemeral_context()
    source = ctx.data_sources.add_pandas(name)
    definitions, frames = [], {}
    for table, (frame, expectations) in tables.items():
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        # filled before it is added: added first, every expectation would be saved on its own
        suite = gx.ExpectationSuite(name=f"{name}.{table}")
        for expectation in expectations:
            suite.add_expectation(expectation)
        suite = ctx.suites.add(suite)
        definitions.append(ctx.validation_definitions.add(
            gx.ValidationDefinition(data=batch, suite=suite, name=f"{name}.{table}")))
        frames[f"{name}.{table}"] = (table, frame)
    results: list[dict] = []
    success = True
    # One run per table: each validation definition takes its own dataframe parameter.
    for definition in definitions:
        table, frame = frames[definition.name]
        checkpoint = ctx.checkpoints.add(gx.Checkpoint(
            name=f"{definition.name}", validation_definitions=[definition],
            result_format={"result_format": "SUMMARY"}))
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        success &= bool(outcome.success)
        for run in outcome.run_results.values():
            for r in run.results:
                cfg = r.expectation_config
                row = {
                    "table": table, "expectation": cfg.type,
                    "column": cfg.kwargs.get("column") or ",".join(
                        cfg.kwargs.get("column_list") or []),
                    "success": bool(r.success),
                    "unexpected_count": int((r.result or {}).get("unexpected_count") or 0),
                }
                results.append(row | _detail(r) if detail else row)
    return CheckResult(success, results)
