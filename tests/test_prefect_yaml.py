"""`prefect.yaml`: `prefect deploy --all` onto a process work pool, then a worker runs a
deployment started with `prefect deployment run`, against a real Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import count

from csc.paths import PROJECT_ROOT, SAMPLES

PREFECT = Path(sys.executable).with_name("prefect")


def test_every_served_stage_is_in_prefect_yaml_one_run_at_a_time():
    from flows.serve import deployments

    doc = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    declared = {(d["entrypoint"].rsplit(":", 1)[1], d["name"]) for d in doc["deployments"]}
    served = {(d.flow_name, d.name) for d in deployments()}
    assert declared == served
    assert all(d["concurrency_limit"] == 1 and d["work_pool"]["name"] == "csc"
               for d in doc["deployments"])
    assert all(d.concurrency_limit == 1 for d in deployments())
    for d in doc["deployments"]:  # each entrypoint names a flow that exists
        path, func = d["entrypoint"].split(":")
        assert f"def {func}(" in (PROJECT_ROOT / path).read_text(encoding="utf-8")


@pytest.mark.prefect
def test_a_worker_runs_what_prefect_deploy_registered(warehouse, prefect_server, tmp_path):
    env = dict(os.environ, PREFECT_API_URL=prefect_server, CSC_WAREHOUSE=str(warehouse),
               CSC_DROP_FOLDER=str(tmp_path), CSC_LLM_BASE_URL="simulator",
               CSC_LLM_CACHE=str(tmp_path / "llm.sqlite"), PWD=str(PROJECT_ROOT))

    def prefect(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        done = subprocess.run([str(PREFECT), *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    prefect("work-pool", "create", "csc", "--type", "process", "--overwrite")
    prefect("--no-prompt", "deploy", "--all")
    prefect("deployment", "run", "ingest/manual", "-p", f"path={SAMPLES}")
    prefect("worker", "start", "--pool", "csc", "--run-once", timeout=300)
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 46
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE flow = 'ingest' "
                            "AND status = 'completed'") == 1
