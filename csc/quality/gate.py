"""The data-quality gate: Great Expectations suites over every published table, run before
anything is published. A failed critical expectation stops publication; the result names
each failing expectation, its table and how many rows broke it.

Plain Python (no Prefect): tasks.quality.quality_gate runs it as a DAG stage, and tests call
it directly. The tables are read from DuckDB into pandas (GX's SQL datasource does not work
with DuckDB) and validated in an ephemeral GX context (nothing written but the Data Docs) with
one Data Docs site, so Data Docs can be built from the results, offline, into
<output dir>/quality/data_docs/. Every result is
stored in ops.validation_results (marts.quality_history summarises it).
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csc.errors import RuntimeFailure
from csc.quality.checkpoint import run_checkpoint

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# Suite -> its tables: the key GX knows it by, and the warehouse table or view it reads.
TABLES: dict[str, dict[str, str]] = {
    "csconv": {"csconv_dialogues": "marts.csconv_current",
               "csconv_utterances": "csconv.utterances"},
    "rolecs": {"rolecs_dialogues": "marts.rolecs_accepted",
               "rolecs_utterances": "rolecs.utterances"},
    "eval": {"eval_metrics": "eval.metrics", "leaderboard": "marts.leaderboard",
             "turn_judgements": "eval.turn_judgements"},
    "finetune": {"finetune_exports": "finetune.exports"},
}
# Which stage count (sql/queries/quality/stage_rows) says a suite's stage has run.
STAGE_COUNT = {"csconv": "csconv", "rolecs": "rolecs", "eval": "eval_runs",
               "finetune": "finetune"}
NO_ROWS = "no rows yet"
_KWARGS = ("min_value", "max_value", "value_set", "regex", "row_condition")


class GateFailed(RuntimeFailure):
    """A critical expectation failed on a published table: nothing is published. The
    message names each failure, its table and its row count."""

    def __init__(self, message: str, result: GateResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple:  # Prefect may pickle a failed task's exception
        return type(self), (str(self),)


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation on one table in one gate run (or a suite skipped: no rows yet)."""

    suite: str
    table: str  # the warehouse table or view
    expectation: str
    column: str | None
    critical: bool
    status: str  # passed | failed | skipped
    unexpected_count: int = 0
    details: dict = field(default_factory=dict)

    @property
    def success(self) -> bool | None:
        return None if self.status == "skipped" else self.status == "passed"

    def describe(self) -> str:
        """'table: expectation(column, bounds) failed for N rows (e.g. ...)', one line."""
        args = [self.column] if self.column else []
        args += [f"{k}={v}" for k, v in (self.details.get("kwargs") or {}).items()]
        what = f"{self.table}: {self.expectation}({', '.join(args)})"
        if self.details.get("error"):
            return f"{what} could not be evaluated: {self.details['error']}"
        if self.unexpected_count:
            rows = "1 row" if self.unexpected_count == 1 else f"{self.unexpected_count} rows"
            sample = self.details.get("sample") or []
            example = f" (e.g. {', '.join(repr(s[:60]) for s in sample)})" if sample else ""
            return f"{what} failed for {rows}{example}"
        observed = self.details.get("observed_value")
        return f"{what} failed" + (f" (observed {observed})" if observed is not None else "")


@dataclass
class GateResult:
    run_id: str
    results: list[ExpectationResult]
    docs_path: Path | None = None  # the Data Docs index.html
    docs_note: str = ""  # why there are no Data Docs, if there are none

    @property
    def failures(self) -> list[ExpectationResult]:
        """Critical failures: each one stops publication."""
        return [r for r in self.results if r.status == "failed" and r.critical]

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.status == "failed" and not r.critical]

    @property
    def skipped(self) -> list[str]:
        return [r.suite for r in self.results if r.status == "skipped"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def message(self) -> str:
        """One paragraph for a person: what failed, where, how many rows; where to look."""
        if self.passed:
            checked = sum(r.status != "skipped" for r in self.results)
            text = f"quality gate passed: {checked} expectations held"
            if self.warnings:
                text += f", {len(self.warnings)} warning(s): " + "; ".join(
                    w.describe() for w in self.warnings)
            if self.skipped:
                text += f"; {NO_ROWS} for {', '.join(self.skipped)} (skipped)"
            return text + "."
        failed = "; ".join(r.describe() for r in self.failures)
        where = f"see ops.validation_results (run_id {self.run_id})"
        if self.docs_path:
            where += f" and the Data Docs at {self.docs_path}"
        return (f"quality gate failed, nothing published: {len(self.failures)} critical "
                f"expectation(s) failed: {failed}. Fix the rows (or the stage that wrote them) "
                f"and run again; {where}.")

    def summary(self) -> dict:
        """Counts for a run summary (ops.runs, the flow's return value)."""
        return {"passed": self.passed, "run_id": self.run_id,
                "expectations": sum(r.status != "skipped" for r in self.results),
                "critical_failures": len(self.failures), "warnings": len(self.warnings),
                "skipped": self.skipped,
                "data_docs": str(self.docs_path) if self.docs_path else None}


# --- reading the published tables ------------------------------------------------------------

def _frames(con: duckdb.DuckDBPyConnection, counts: dict[str, int]
            ) -> dict[str, dict[str, tuple[pd.DataFrame, list]]]:
    """Suite -> table key -> (frame, expectations), for the suites whose stage has run."""
    from csc.csconv.postfilter import PostfilterConfig
    from csc.quality.published import add_unmasked_pii, csconv_frames
    from schemas import published as s
    from warehouse.queries import sql

    def read(statement: str) -> pd.DataFrame:
        return con.sql(statement).df()

    out: dict[str, dict[str, tuple[pd.DataFrame, list]]] = {}
    if counts["csconv"]:
        cfg = PostfilterConfig.from_env()
        dialogues, utterances = csconv_frames(read(sql("quality/published_dialogues")),
                                              read(sql("quality/published_utterances")))
        out["csconv"] = {
            "csconv_dialogues": (dialogues, [*s.csconv_dialogues(cfg.min_utterances,
                                                                  cfg.max_utterances),
                                             s.has_rows()]),
            "csconv_utterances": (utterances, [*s.csconv_utterances(), s.has_rows()]),
        }
    if counts["rolecs"]:
        utterances = read(sql("quality/rolecs_utterances"))
        out["rolecs"] = {
            # judge-accepted dialogues may all be near-duplicates of earlier ones: a warning
            "rolecs_dialogues": (read(sql("quality/rolecs_dialogues")),
                                 [*s.rolecs_dialogues(), s.has_rows(critical=False)]),
            "rolecs_utterances": (add_unmasked_pii(utterances, utterances["language"]),
                                  s.rolecs_utterances()),
        }
    if counts["eval_runs"]:
        # a run whose evaluation crashed has no metrics yet; the evaluation stage (after the
        # gate) finishes it, so that is a warning, not a reason to stop publication
        leaderboard = s.leaderboard() + ([s.has_rows()] if counts["eval_metrics"] else [])
        out["eval"] = {
            "eval_metrics": (read(sql("quality/eval_metrics")), [*s.eval_metrics(),
                                                    s.has_rows(critical=False)]),
            "leaderboard": (read(sql("quality/leaderboard")), leaderboard),
            "turn_judgements": (read(sql("quality/turn_judgements")), s.turn_judgements()),
        }
    if counts["finetune"]:
        out["finetune"] = {"finetune_exports": (read(sql("quality/finetune_exports")),
                                                s.finetune_exports())}
    return out


def _stage_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    from warehouse.db import query_dicts
    from warehouse.queries import sql

    return query_dicts(con, sql("quality/stage_rows"))[0]


# --- Great Expectations ----------------------------------------------------------------------

def _docs_context(site: Path) -> Any:
    """An ephemeral GX context whose one Data Docs site is the folder `site`.

    Ephemeral, not file-backed: a file-backed context rewrites its great_expectations.yml and
    suite files on every datasource, asset and expectation added (a third of a gate run); the
    validations and the Data Docs built from them are the same either way."""
    from csc.quality.checkpoint import ephemeral_context

    ctx = ephemeral_context()
    ctx.add_data_docs_site(site_name="csc", site_config={
        "class_name": "SiteBuilder", "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(site)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    return ctx


def _result(suite: str, table_key: str, row: dict) -> ExpectationResult:
    details = {k: row.get(k) for k in ("description", "element_count", "observed_value",
                                       "sample", "error")}
    details["kwargs"] = row.get("kwargs") or {}
    return ExpectationResult(
        suite=suite, table=TABLES[suite][table_key], expectation=row["expectation"],
        column=row["column"] or None, critical=row["critical"],
        status="passed" if row["success"] else "failed",
        unexpected_count=row["unexpected_count"],
        details={k: v for k, v in details.items() if v not in (None, [], {})})


def _validate(ctx: Any, suites: dict[str, dict[str, tuple[pd.DataFrame, list]]]
              ) -> list[ExpectationResult]:
    results: list[ExpectationResult] = []
    for suite, tables in suites.items():
        kwargs = {f"{suite}.{key}": [_kwargs(e) for e in exp] for key, (_, exp) in
                  tables.items()}
        checked = run_checkpoint(suite, tables, context=ctx, detail=True)
        # run_checkpoint returns one row per expectation, in the order they were added
        order = [(key, i) for key, (_, exp) in tables.items() for i in range(len(exp))]
        for (key, i), row in zip(order, checked.results, strict=True):
            results.append(_result(suite, key, row | {"kwargs": kwargs[f"{suite}.{key}"][i]}))
    return results


def _kwargs(expectation: Any) -> dict:
    """The bounds, sets and conditions that say what an expectation asked, for messages."""
    out = {}
    for name in _KWARGS:
        value = getattr(expectation, name, None)
        if name == "row_condition" and value is not None:
            value = getattr(value, "pass_through_filter", None) or str(value)
        if value is not None:
            out[name] = list(value) if name == "value_set" else value
    return out


def _build_docs(ctx: Any, site: Path, results: list[ExpectationResult]) -> str:
    """GX's Data Docs into `site`, offline (its pages link only to files it copies there).
    Should GX fail to render them, a plain HTML table of the results takes their place, so
    the folder always has an index.html; the returned note says which one it is."""
    try:
        ctx.build_data_docs(site_names=["csc"])
        return ""
    except Exception as exc:  # a rendering bug must not hide the verdicts
        rows = "".join(
            f"<tr><td>{html.escape(r.suite)}</td><td>{html.escape(r.table)}</td>"
            f"<td>{html.escape(r.expectation)}</td><td>{html.escape(r.column or '')}</td>"
            f"<td>{'critical' if r.critical else 'warning'}</td><td>{r.status}</td>"
            f"<td>{r.unexpected_count}</td></tr>" for r in results)
        (site / "index.html").write_text(
            "<!doctype html><meta charset='utf-8'><title>Quality gate</title>"
            "<h1>Quality gate results</h1><table border='1'><tr><th>suite</th><th>table</th>"
            "<th>expectation</th><th>column</th><th>severity</th><th>status</th>"
            f"<th>unexpected rows</th></tr>{rows}</table>", encoding="utf-8")
        return f"GX could not build Data Docs ({exc}); index.html is a plain summary"


def _swap_in(built: Path, target: Path) -> None:
    """Replace the Data Docs folder whole, so a reader never sees half of two builds."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    built.rename(target)
    shutil.rmtree(old, ignore_errors=True)


# --- the gate --------------------------------------------------------------------------------

def _store(db: Path | None, result: GateResult) -> None:
    import polars as pl

    from warehouse.db import connect, insert_frame, transaction

    rows = [{"run_id": result.run_id, "suite": r.suite, "table": r.table,
             "expectation": r.expectation, "column": r.column, "critical": r.critical,
             "status": r.status, "success": r.success, "unexpected_count": r.unexpected_count,
             "details": json.dumps(r.details, ensure_ascii=False, default=str)}
            for r in result.results]
    frame = pl.DataFrame(rows, schema={
        "run_id": pl.String, "suite": pl.String, "table": pl.String, "expectation": pl.String,
        "column": pl.String, "critical": pl.Boolean, "status": pl.String,
        "success": pl.Boolean, "unexpected_count": pl.Int64, "details": pl.String})
    with connect(db) as con, transaction(con):
        insert_frame(con, "ops.validation_results", frame, stamp="checked_at", keyed=False)


def default_docs_dir() -> Path:
    from warehouse.db import output_dir

    return output_dir() / "quality" / "data_docs"


def run_gate(db: Path | None = None, docs_dir: Path | None = None,
             run_id: str | None = None) -> GateResult:
    """Validate every published table; store the results; build the Data Docs.

    A suite whose stage has produced nothing yet is skipped ("no rows yet"), so a fresh
    warehouse passes. Returns the result whether or not it passed: the caller decides what a
    failure stops (tasks.quality.quality_gate raises GateFailed)."""
    from warehouse.db import connect

    run_id = run_id or uuid.uuid4().hex
    docs_dir = Path(docs_dir) if docs_dir else default_docs_dir()
    with connect(db) as con:  # a writing connection: it migrates a warehouse not yet at 020
        counts = _stage_counts(con)
        suites = _frames(con, counts)
    results = [ExpectationResult(suite, ", ".join(TABLES[suite].values()), NO_ROWS, None,
                                 False, "skipped",
                                 details={"description": f"{suite}: the stage has produced "
                                                         "nothing yet"})
               for suite in TABLES if suite not in suites]
    docs_dir.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{docs_dir.name}.", dir=docs_dir.parent))
    try:
        ctx = _docs_context(built)
        results += _validate(ctx, suites)
        note = _build_docs(ctx, built, results)
        _swap_in(built, docs_dir)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    order = list(TABLES)
    results.sort(key=lambda r: order.index(r.suite))
    result = GateResult(run_id, results, docs_dir / "index.html", note)
    _store(db, result)
    return result

