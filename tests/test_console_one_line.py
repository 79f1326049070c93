"""The terminal shows one line for a failure a flow reports in one line, in the CLI's process
and in a deployment run's own process (every flow wraps the console handler as it starts);
any other failure keeps its traceback."""

from __future__ import annotations

import logging
import sys

import pytest

from csc.errors import ConfigError, StorageError
from tasks.console import OneLineOnTheTerminal


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1,
                             "Task run failed with exception: %r", (exc,), info)


def test_a_quiet_failure_loses_its_traceback_on_the_terminal_only():
    fmt = OneLineOnTheTerminal(logging.Formatter("%(message)s"), (StorageError, ConfigError))
    record = _record(StorageError("the LLM cache /x is corrupt: move it aside"))
    shown = fmt.format(record)
    assert shown == "Task run failed with exception: StorageError('the LLM cache /x is " \
                    "corrupt: move it aside')"
    assert record.exc_info is not None  # the run log's handler still gets the traceback
    other = fmt.format(_record(ValueError("a bug")))
    assert "Traceback (most recent call last)" in other and "ValueError: a bug" in other


@pytest.mark.prefect
def test_every_flow_wraps_the_console_handler_as_it_starts(prefect_server):
    from prefect import flow
    from prefect.logging.handlers import PrefectConsoleHandler

    from tasks.runs import refuses_bad_config

    consoles = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    assert consoles
    for h in consoles:  # as in a fresh deployment-run process: nothing wrapped yet
        if isinstance(h.formatter, OneLineOnTheTerminal):
            h.setFormatter(h.formatter.inner)

    @flow(name="refused-for-its-config")
    @refuses_bad_config
    def refused() -> None:
        raise ConfigError("CSC_SOMETHING is not a number")

    state = refused(return_state=True)
    assert state.is_failed() and state.message == "CSC_SOMETHING is not a number"
    assert all(isinstance(h.formatter, OneLineOnTheTerminal) for h in consoles)
