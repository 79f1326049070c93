"""When a Prefect task tries again: only after a failure that another attempt may not meet.

Every task with `retries` takes `retry_condition_fn=retry_if_transient`. A failing disk or
network mount, or a DuckDB I/O hiccup, may pass; a corrupt or full file, a warehouse busy past
its wait, a setting the user must change or a bug fails the same way on every attempt, so
retrying only delays the one line that says what to do.
"""

from __future__ import annotations

import logging

import duckdb
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.logging.loggers import task_run_logger
from prefect.states import State

from csc.ingest.service import is_transient
from tasks.runs import USER_ERRORS
from warehouse.db import no_room


def failure_of(state: State) -> BaseException | None:
    """The exception a failed task run raised, if it raised one."""
    if isinstance(state.data, BaseException):
        return state.data
    try:
        state.result(raise_on_failure=True)
    except Exception as raised:  # only classified here; Prefect keeps the failure
        return raised
    return None


def transient(exc: BaseException) -> bool:
    """Whether the same work may succeed if tried again a little later."""
    if isinstance(exc, USER_ERRORS) or no_room(exc):  # includes every RuntimeFailure
        return False
    if isinstance(exc, OSError):
        return is_transient(exc)  # not a missing or forbidden file, not bad gzip
    return isinstance(exc, duckdb.IOException)


def retry_if_transient(task: Task, task_run: TaskRun | None, state: State) -> bool:
    """Prefect's retry_condition_fn. A failure that is not retried leaves its traceback in
    the task run's log (Prefect logs none when it skips a retry), never on the terminal."""
    exc = failure_of(state)
    if exc is None:
        return False
    if transient(exc):
        return True
    logger = task_run_logger(task_run, task) if task_run else logging.getLogger(__name__)
    logger.info("not retried, another attempt would fail the same way: %s: %s",
                type(exc).__name__, exc, exc_info=exc)
    return False
