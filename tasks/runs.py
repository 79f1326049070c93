"""Run bookkeeping shared by every flow: one ops.runs row per flow run, and one clear line
(never a traceback, never a retry) when a run is refused for a csc.errors.CscError: the user's
configuration, or a runtime failure a retry cannot fix."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import FailedRun
from prefect.runtime import flow_run
from prefect.states import Failed

from csc import settings
from csc.errors import CscError, RunInProgress
from tasks.console import quiet_user_error_tracebacks
from warehouse.db import connect, warehouse_path
from warehouse.runs import finish_run, new_run_id, start_run


class RunRefused(CscError, FailedRun):
    """What calling a flow refused for a CscError raises: that error's one line and exit code.

    Also a FailedRun, as Prefect raises for any failed run, so a caller that expects one (a
    parent flow, a test) still gets one. A parent flow refusing for a refused sub-flow passes
    the sub-flow's exit code on."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple:  # a persisted result pickles it
        return type(self), (str(self), self.exit_code)


# The failures a flow reports in one line and never retries. FailedRun: a sub-flow that failed
# with no exception attached (Prefect's own wrapper); its message is the one line.
USER_ERRORS: tuple[type[BaseException], ...] = (CscError, FailedRun)


def current_run_id() -> str:
    """The Prefect flow-run id when inside a flow, so ops.runs joins to the Prefect UI."""
    rid = flow_run.get_id()
    return str(rid).replace("-", "") if rid else new_run_id()


@contextmanager
def run_ledger(flow: str, params: dict) -> Iterator[dict]:
    """Record the run in ops.runs, holding the warehouse's run lock until it ends. A run of
    another process holding it is waited for, up to CSC_RUN_WAIT_S (then RunInProgress);
    the caller fills `summary`, stored at the end."""
    run = {"run_id": current_run_id(), "summary": {}}
    logger = get_run_logger()
    logger.info("%s run writes to the warehouse %s", flow, warehouse_path().resolve())
    recorded = settings.record()
    deadline = time.monotonic() + settings.current().run_wait_s
    pause = 1.0
    while True:
        try:
            with connect() as con:
                start_run(con, run["run_id"], flow, params, settings=recorded)
            break
        except RunInProgress as busy:
            # single writer: queue behind the other run (the connection is closed meanwhile,
            # so it can write), and give up only after CSC_RUN_WAIT_S
            left = deadline - time.monotonic()
            if left <= 0:
                waited = settings.current().run_wait_s
                if not waited:
                    raise
                raise RunInProgress(f"{busy} (this run waited {waited:g} s for it: "
                                    "CSC_RUN_WAIT_S)") from None
            if pause == 1.0:
                logger.info("waiting for the other run to finish: %s", busy)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 10.0)
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
    """Put under @flow: the settings are checked first (csc.settings: every CSC_* value, so a
    typo refuses the run before it does anything), then a CscError (a configuration mistake,
    a runtime failure) ends the run as Failed with its one-line message (recorded in ops.runs
    when the warehouse is usable) instead of an exception that Prefect would print with its
    traceback at every level of the DAG. Calling the flow then raises a RunRefused with the
    error's message and exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        quiet_user_error_tracebacks()  # a deployment run's process: the CLI did not do it
        try:
            settings.current()  # validated once per process (and again if the env changes)
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            refusal = RunRefused(str(exc), getattr(exc, "exit_code", 1))
            message = str(refusal)
            get_run_logger().error("%s refused: %s", fn.__name__, message)
            params = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
            # refused for its settings: the warehouse is the one they name, the rest unread
            fallback = getattr(exc, "settings", None)
            try:
                recorded = settings.record()
            except settings.SettingsError:
                recorded = None
            try:
                # no second wait: when the warehouse is busy, that is what the message says
                with connect(fallback.warehouse if fallback else None, timeout=0) as con:
                    run_id = current_run_id()
                    start_run(con, run_id, fn.__name__, params, exclusive=False,
                              settings=recorded)
                    status = "refused" if isinstance(exc, RunInProgress) else "failed"
                    finish_run(con, run_id, status, {"error": message}, if_running=True)
            except Exception as why:  # recording the refusal is best effort
                # (the warehouse itself may be what is wrong: busy, full; the message says so)
                get_run_logger().warning("could not record the refused run: %s", why)
            # the caller of the flow gets the RunRefused (its exit code), not a bare FailedRun
            return Failed(message=message, data=refusal)

    return wrapper
