"""Run a real Great Expectations checkpoint over pandas frames read out of DuckDB.

GX cannot validate DuckDB through its SQL datasource, so the published tables are read into
pandas and validated with an ephemeral context (nothing is written to a GX project folder).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas costs 0.3 s to import; `csc export` often needs only CheckResult
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network: no usage statistics


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


def run_checkpoint(name: str, tables: dict[str, tuple[pd.DataFrame, list]]) -> CheckResult:
    """`tables`: table name -> (frame, expectations). One checkpoint validates them all."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = ctx.data_sources.add_pandas(name)
    definitions, frames = [], {}
    for table, (frame, expectations) in tables.items():
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        suite = ctx.suites.add(gx.ExpectationSuite(name=table))
        for expectation in expectations:
            suite.add_expectation(expectation)
        definitions.append(ctx.validation_definitions.add(
            gx.ValidationDefinition(data=batch, suite=suite, name=table)))
        frames[table] = frame
    results: list[dict] = []
    success = True
    # One run per table: each validation definition takes its own dataframe parameter.
    for definition in definitions:
        checkpoint = ctx.checkpoints.add(gx.Checkpoint(
            name=f"{name}-{definition.name}", validation_definitions=[definition],
            result_format={"result_format": "SUMMARY"}))
        outcome = checkpoint.run(batch_parameters={"dataframe": frames[definition.name]})
        success &= bool(outcome.success)
        for run in outcome.run_results.values():
            for r in run.results:
                cfg = r.expectation_config
                results.append({
                    "table": definition.name, "expectation": cfg.type,
                    "column": cfg.kwargs.get("column") or ",".join(
                        cfg.kwargs.get("column_list") or []),
                    "success": bool(r.success),
                    "unexpected_count": int(r.result.get("unexpected_count") or 0),
                })
    return CheckResult(success, results)
