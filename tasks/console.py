"""One line on the terminal for a failure a flow reports in one line.

Prefect logs a failed task or flow with its traceback at every level of the DAG. For a
csc.errors.CscError (a user mistake or a runtime failure; tasks.runs.USER_ERRORS) the
terminal - of `csc`, or of `flows.serve` running a deployment - shows the one line; the run
log on the Prefect server keeps the traceback (its handler formats the record on its own).
"""

from __future__ import annotations

import copy
import logging


class OneLineOnTheTerminal(logging.Formatter):
    """The console handler's formatter, minus the traceback of the `quiet` exceptions."""

    def __init__(self, inner: logging.Formatter, quiet: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.inner, self.quiet = inner, quiet

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, self.quiet):
            record = copy.copy(record)  # the record is shared with the run log's handler
            record.exc_info, record.exc_text = None, None
        return self.inner.format(record)


def quiet_user_error_tracebacks() -> None:
    """Wrap every Prefect console handler's formatter once (idempotent): called by the CLI
    before it runs a flow, and by every flow as it starts (a deployment run's own process)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    from tasks.runs import USER_ERRORS

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and handler.formatter is not None \
                and not isinstance(handler.formatter, OneLineOnTheTerminal):
            handler.setFormatter(OneLineOnTheTerminal(handler.formatter, USER_ERRORS))
