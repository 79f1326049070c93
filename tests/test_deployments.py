"""Operators' path: `python -m flows.serve` against a real Prefect server, then
`prefect deployment run`, as the README says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import count

from csc.paths import PROJECT_ROOT, SAMPLES

pytestmark = pytest.mark.prefect
PREFECT = Path(sys.executable).with_name("prefect")


def test_served_deployments_run_on_demand(warehouse, prefect_server, tmp_path):
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), CSC_WAREHOUSE=str(warehouse),
               CSC_DROP_FOLDER=str(tmp_path), CSC_LLM_BASE_URL="simulator",
               CSC_LLM_CACHE=str(tmp_path / "llm.sqlite"))
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        serve = subprocess.Popen([sys.executable, "-m", "flows.serve"], cwd=PROJECT_ROOT,
                                 env=env, stdout=sink, stderr=subprocess.STDOUT)
    wanted = ("nightly/nightly", "ingest/manual", "csconv/manual")
    try:
        deadline = time.monotonic() + 90
        listed = ""
        while not all(d in listed for d in wanted) and time.monotonic() < deadline:
            assert serve.poll() is None, log.read_text()
            time.sleep(1)
            listed = subprocess.run([PREFECT, "deployment", "ls"], env=env, capture_output=True,
                                    text=True).stdout
        assert all(d in listed for d in wanted), listed + log.read_text()
        run = subprocess.run(
            [PREFECT, "deployment", "run", "ingest/manual", "-p", f"path={SAMPLES}", "--watch",
             "--watch-timeout", "120"], env=env, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "Completed" in run.stdout
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 46
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE flow = 'ingest' "
                            "AND status = 'completed'") == 1
