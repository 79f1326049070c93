"""Run bookkeeping shared by every flow: one ops.runs row per flow run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.runtime import flow_run

from warehouse.db import connect
from warehouse.runs import finish_run, new_run_id, start_run


def current_run_id() -> str:
    """The Prefect flow-run id when inside a flow, so ops.runs joins to the Prefect UI."""
    rid = flow_run.get_id()
    return str(rid).replace("-", "") if rid else new_run_id()


@contextmanager
def run_ledger(flow: str, params: dict) -> Iterator[dict]:
    """Record the run in ops.runs; the caller fills `summary` and it is stored at the end."""
    run = {"run_id": current_run_id(), "summary": {}}
    with connect() as con:
        start_run(con, run["run_id"], flow, params)
    status = "failed"
    try:
        yield run
        status = "completed"
    finally:
        with connect() as con:
            finish_run(con, run["run_id"], status, run["summary"])
