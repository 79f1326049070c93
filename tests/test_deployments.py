"""Operators' path: `python -m flows.serve` against a real Prefect server, then
`prefect deployment run`, as the README says."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import count

from csc.paths import PROJECT_ROOT, SAMPLES

pytestmark = pytest.mark.prefect
PREFECT = Path(sys.executable).with_name("prefect")


def registered(names: tuple[str, ...]) -> bool:
    """Whether the server knows every deployment named (asked in-process: a `prefect` CLI
    call costs seconds of start-up, too slow to poll with)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            for name in names:
                client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True


def test_served_deployments_run_on_demand(warehouse, prefect_server, tmp_path):
    """flows.serve polls for due runs every second (PREFECT_RUNNER_POLL_FREQUENCY, Prefect's
    default is 10 s), so the run started by hand begins at once; what it runs is the same."""
    env = dict(os.environ, PREFECT_API_URL=prefect_server, CSC_WAREHOUSE=str(warehouse),
               CSC_DROP_FOLDER=str(tmp_path), CSC_LLM_BASE_URL="simulator",
               CSC_LLM_CACHE=str(tmp_path / "llm.sqlite"), PREFECT_RUNNER_POLL_FREQUENCY="1")
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        serve = subprocess.Popen([sys.executable, "-m", "flows.serve"], cwd=PROJECT_ROOT,
                                 env=env, stdout=sink, stderr=subprocess.STDOUT)
    wanted = ("nightly/nightly", "ingest/manual", "csconv/manual")
    try:
        deadline = time.monotonic() + 90
        while not registered(wanted) and time.monotonic() < deadline:
            assert serve.poll() is None, log.read_text()
            time.sleep(0.2)
        # and an operator sees them listed
        listed = subprocess.run([PREFECT, "deployment", "ls"], env=env, capture_output=True,
                                text=True).stdout
        assert all(d in listed for d in wanted), listed + log.read_text()
        run = subprocess.run(
            [PREFECT, "deployment", "run", "ingest/manual", "-p", f"path={SAMPLES}", "--watch",
             "--watch-timeout", "120"], env=env, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "Completed" in run.stdout
        serve.send_signal(signal.SIGINT)  # Ctrl-C: pauses the schedules and exits
        assert serve.wait(timeout=30) == 0, log.read_text()
        assert "flows.serve: stopped" in log.read_text()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 46
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE flow = 'ingest' "
                            "AND status = 'completed'") == 1


def test_the_nightly_schedule_has_a_time_zone(monkeypatch):
    from csc.errors import ConfigError
    from flows.serve import deployments, nightly_schedule

    monkeypatch.delenv("CSC_NIGHTLY_TZ", raising=False)
    monkeypatch.delenv("CSC_NIGHTLY_CRON", raising=False)
    default = nightly_schedule()
    assert (default.cron, default.timezone) == ("0 2 * * *", "UTC")
    monkeypatch.setenv("CSC_NIGHTLY_TZ", "Asia/Shanghai")
    monkeypatch.setenv("CSC_NIGHTLY_CRON", "30 1 * * *")
    nightly = deployments()[0]
    schedule = nightly.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("30 1 * * *", "Asia/Shanghai")
    assert "'30 1 * * *' in Asia/Shanghai" in nightly.description  # shown in the deployment
    monkeypatch.setenv("CSC_NIGHTLY_TZ", "Asia/Shangai")
    with pytest.raises(ConfigError, match=r"^CSC_NIGHTLY_TZ=Asia/Shangai must be a time zone "
                                          "name"):
        nightly_schedule()
    monkeypatch.setenv("CSC_NIGHTLY_TZ", "UTC")
    monkeypatch.setenv("CSC_NIGHTLY_CRON", "every night")
    with pytest.raises(ConfigError, match=r"^CSC_NIGHTLY_CRON=every night must be a cron "
                                          "expression"):
        nightly_schedule()
