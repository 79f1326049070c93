"""Run bookkeeping shared by every flow: one ops.runs row per flow run, and one clear line
(never a traceback, never a retry) when a run is refused for the user's configuration."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import FailedRun
from prefect.runtime import flow_run
from prefect.states import Failed

from csc.errors import ConfigError, RunInProgress, RuntimeFailure
from csc.ingest.service import IngestError
from csc.ingest.sources import SourceError
from csc.llm.gateway import EndpointError
from csc.llm.settings import LLMNotConfigured
from tasks.console import quiet_user_error_tracebacks
from warehouse.db import WarehouseError, connect, warehouse_path
from warehouse.runs import finish_run, new_run_id, start_run

# Mistakes in what the user configured, and runtime failures a retry cannot fix (a full disk,
# a corrupt cache, another run holding the lock): a traceback does not help.
# FailedRun: a sub-flow was refused for one of these; its message is already the one line.
USER_ERRORS = (ConfigError, IngestError, SourceError, WarehouseError, LLMNotConfigured,
               EndpointError, RuntimeFailure, FailedRun)


def current_run_id() -> str:
    """The Prefect flow-run id when inside a flow, so ops.runs joins to the Prefect UI."""
    rid = flow_run.get_id()
    return str(rid).replace("-", "") if rid else new_run_id()


@contextmanager
def run_ledger(flow: str, params: dict) -> Iterator[dict]:
    """Record the run in ops.runs, holding the warehouse's run lock until it ends
    (RunInProgress when another process holds it); the caller fills `summary`, stored at
    the end."""
    run = {"run_id": current_run_id(), "summary": {}}
    get_run_logger().info("%s run writes to the warehouse %s", flow, warehouse_path().resolve())
    with connect() as con:
        start_run(con, run["run_id"], flow, params)
    status = "failed"
    try:
        yield run
        status = "completed"
    except BaseException as exc:
        run["summary"].setdefault("error", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        with connect() as con:
            finish_run(con, run["run_id"], status, run["summary"])


def refuses_bad_config(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Put under @flow: a configuration mistake ends the run as Failed with its one-line
    message (recorded in ops.runs when the warehouse is usable) instead of an exception that
    Prefect would print with its traceback at every level of the DAG."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        quiet_user_error_tracebacks()  # a deployment run's process: the CLI did not do it
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            message = str(exc)
            get_run_logger().error("%s refused: %s", fn.__name__, message)
            params = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
            try:
                # no second wait: when the warehouse is busy, that is what the message says
                with connect(timeout=0) as con:
                    run_id = current_run_id()
                    start_run(con, run_id, fn.__name__, params, exclusive=False)
                    status = "refused" if isinstance(exc, RunInProgress) else "failed"
                    finish_run(con, run_id, status, {"error": message})
            except Exception as why:  # recording the refusal is best effort
                # (the warehouse itself may be what is wrong: busy, full; the message says so)
                get_run_logger().warning("could not record the refused run: %s", why)
            return Failed(message=message)

    return wrapper
