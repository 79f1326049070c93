"""Serve every stage as a Prefect deployment with its schedule: `python -m flows.serve`.

Operators then start any stage by hand with `prefect deployment run '<flow>/<deployment>'`.
Before serving, it checks what every scheduled run will need (a reachable Prefect server, the
drop folder, the LLM endpoint settings, the warehouse folder, the schedule) and refuses to
start, one line per problem, rather than serve runs that would fail at 2 a.m. On SIGTERM or
SIGINT it stops within a few seconds, even when the Prefect server has gone first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time

from prefect.schedules import Cron

from csc.errors import ConfigError
from csc.paths import DROP_ENV, drop_folder
from csc.settings import SettingsError, current, load

STOP_GRACE_S = 8.0  # after a stop signal, exit even if the server never answers
SERVER_WAIT_S = 30.0  # a server started a moment ago gets this long to answer
SERVED_STAGES = ("csconv", "rolecs", "evaluate")  # the LLM stages served deployments run


def nightly_schedule() -> Cron:
    """`CSC_NIGHTLY_CRON` (default 02:00) in `CSC_NIGHTLY_TZ` (default UTC), both checked by
    csc.settings."""
    settings = current()
    return Cron(settings.nightly_cron, timezone=settings.nightly_tz)


def deployments() -> list:
    """Every stage as a deployment, each at most one run at a time (a second start waits in
    Prefect's queue; across deployments the warehouse's run lock queues them): `nightly` on
    its schedule, the others on demand."""
    from flows.csconv import csconv
    from flows.evaluate import evaluate
    from flows.finetune import finetune
    from flows.ingest import ingest
    from flows.nightly import nightly
    from flows.rolecs import rolecs

    schedule = nightly_schedule()
    one = {"concurrency_limit": 1}
    return [
        nightly.to_deployment(
            name="nightly", schedule=schedule, **one,
            description=f"Nightly refresh of every dataset from ${DROP_ENV}: "
                        f"'{schedule.cron}' in {schedule.timezone}."),
        ingest.to_deployment(name="manual", **one,
                             description="Ingest a file or folder on demand "
                                         f"(path, default ${DROP_ENV})."),
        csconv.to_deployment(name="manual", **one,
                             description="Build CSConv from what is pending."),
        rolecs.to_deployment(name="manual", **one,
                             description="Simulate and judge RoleCS dialogues (per_language)."),
        finetune.to_deployment(name="manual", **one,
                               description="Export the accepted RoleCS set when due (force) "
                                           "and train it at CSC_FINETUNE_PROVIDER."),
        evaluate.to_deployment(name="manual", **one,
                               description="Evaluate every registered and fine-tuned model "
                                           "on the CSConv set."),
    ]


def _server_problem(wait_s: float) -> str | None:
    url = os.environ.get("PREFECT_API_URL", "").strip()
    if not url:
        return ("PREFECT_API_URL is not set: start a server (`prefect server start`) and "
                "export PREFECT_API_URL=http://127.0.0.1:4200/api")
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + wait_s
    while True:
        with get_client(sync_client=True) as client:
            error = client.api_healthcheck()
        if error is None:
            return None
        if time.monotonic() > deadline:
            return f"the Prefect server at {url} does not answer ({error})"
        time.sleep(1.0)


def problems(server_wait_s: float = SERVER_WAIT_S) -> list[str]:
    """Everything a scheduled run would trip over, all at once."""
    from csc.llm.settings import load_settings
    from warehouse.db import WarehouseError, ensure_writable

    def llm() -> None:
        load_settings(stages=SERVED_STAGES)

    try:
        settings, found = load(), []  # every CSC_* setting, the schedule's included
    except SettingsError as exc:  # the other checks go on with the defaults in their place
        settings, found = exc.settings, list(exc.problems)
    checks = (lambda: drop_folder(settings=settings), llm,
              lambda: ensure_writable(settings.warehouse))
    for check in checks:
        try:
            check()
        except (ConfigError, WarehouseError) as exc:
            found += getattr(exc, "problems", None) or str(exc).splitlines()
    server = _server_problem(server_wait_s)
    return found + ([server] if server else [])


def _exit_soon(grace_s: float) -> None:
    """Arm a watchdog: a stop must not hang on a Prefect server that has gone away (pausing
    the schedules retries its API calls for minutes)."""
    def expire() -> None:
        print("flows.serve: the Prefect server did not answer while stopping; exiting "
              "without pausing the schedules", file=sys.stderr, flush=True)
        os._exit(0)

    timer = threading.Timer(grace_s, expire)
    timer.daemon = True
    timer.start()


def serve_until_stopped(deployments_: list, grace_s: float = STOP_GRACE_S) -> None:
    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    class _Runner(Runner):
        def handle_sigterm(self, *args, **kwargs) -> None:  # Runner.start installs this
            _exit_soon(grace_s)
            super().handle_sigterm(*args, **kwargs)

    def on_signal(signum: int, _frame) -> None:
        _exit_soon(grace_s)
        raise KeyboardInterrupt

    runner = _Runner(pause_on_shutdown=True)
    for deployment in deployments_:
        runner.add_deployment(deployment)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)  # until the runner installs its own
    with contextlib.suppress(KeyboardInterrupt, SystemExit, TerminationSignal):
        asyncio.run(runner.start())
    print("flows.serve: stopped", file=sys.stderr, flush=True)


def main() -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    found = problems()
    if found:
        for line in found:
            print(f"flows.serve: cannot start: {line}", file=sys.stderr)
        return 2
    served = deployments()
    schedule = served[0].schedules[0].schedule
    print(f"flows.serve: serving nightly/nightly ('{schedule.cron}' in {schedule.timezone}, "
          f"drop folder {drop_folder()}), ingest/manual, csconv/manual against "
          f"{os.environ['PREFECT_API_URL']}; Ctrl-C or SIGTERM stops it", flush=True)
    serve_until_stopped(served)
    return 0


if __name__ == "__main__":
    sys.exit(main())
