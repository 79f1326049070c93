"""The README's "Run on a schedule" commands, copied in order into a fresh shell, end in a
completed nightly run that read the configured drop folder, never the bundled samples. Then a
run given a missing folder fails once with one line, and `flows.serve` stops on SIGTERM
although the Prefect server went away first."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import GOOD_ZH, dialogue, query_all, write_jsonl

from csc.paths import PROJECT_ROOT

pytestmark = pytest.mark.prefect
BIN = Path(sys.executable).parent


def readme_block(title: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"## {title}"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How often `flows.serve` (Prefect's Runner) asks the server for runs that are due: every
# second instead of Prefect's default 10, so a run started by hand begins within a second
# rather than after up to 10 s of waiting; what the run does is the same.
RUNNER_POLL = {"PREFECT_RUNNER_POLL_FREQUENCY": "1"}


@pytest.fixture
def readme_env(tmp_path):
    """A fresh shell's environment: none of the session's Prefect or CSC settings (only the
    runner's poll interval, RUNNER_POLL)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CSC_", "PREFECT_", "OPENAI_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env["CSC_LLM_CACHE"] = str(tmp_path / "llm.sqlite")
    return env | RUNNER_POLL


def test_readme_schedule_commands_end_in_a_completed_nightly_on_the_drop_folder(
        tmp_path, readme_env):
    port = free_port()
    drop, data = tmp_path / "drop", tmp_path / "data"
    drop.mkdir()
    # the user's data: one dialogue that is not among the samples
    mine = [(s, t.replace("银行卡", "信用卡")) for s, t in GOOD_ZH]
    write_jsonl(drop / "tonight.jsonl", [dialogue("mine-1", mine)])
    script = (readme_block("Run on a schedule")
              .replace(".venv/bin/", f"{BIN}/").replace("4200", str(port))
              .replace("/data/drop", str(drop)).replace("/data/csc", str(data)))
    assert "flows.serve &" in script and "deployment run 'nightly/nightly'" in script
    jobs = '\necho "JOBS=$(jobs -p | tr "\\n" " ")"\n'  # the server's and serve's pids
    log = tmp_path / "shell.log"  # a file, not a pipe: the background jobs outlive the shell
    with log.open("w") as sink:
        shell = subprocess.Popen(["bash", "-ec", script + jobs], cwd=tmp_path, env=readme_env,
                                 stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        shell.wait(timeout=420)
        out = log.read_text(errors="replace")
        assert shell.returncode == 0, out[-4000:]
        assert "Completed" in out, out[-4000:]
        warehouse = data / "csc.duckdb"
        (params, summary), = query_all(warehouse, "SELECT params, summary FROM ops.runs WHERE "
                                                  "flow = 'nightly' AND status = 'completed'")
        assert json.loads(params)["drop_folder"] == str(drop)
        assert json.loads(summary)["ingest"]["new"] == 1
        files = {f for (f,) in query_all(warehouse, "SELECT DISTINCT source_file FROM "
                                                    "raw.dialogues")}
        assert files == {str(drop / "tonight.jsonl")}  # never the samples

        # a missing folder: one failed run with one line, recorded, no retry
        env = readme_env | {"PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
        bad = subprocess.run([BIN / "prefect", "deployment", "run", "nightly/nightly", "-p",
                              f"drop_folder={tmp_path / 'nope'}", "--watch",
                              "--watch-timeout", "180"], env=env, capture_output=True,
                             text=True, timeout=240)
        assert bad.returncode != 0 and "Failed" in bad.stdout + bad.stderr
        assert "Traceback" not in bad.stdout + bad.stderr
        failed = query_all(warehouse, "SELECT summary FROM ops.runs WHERE status = 'failed'")
        assert len(failed) == 1, failed  # one run, not retried
        assert f"{tmp_path / 'nope'} does not exist" in json.loads(failed[0][0])["error"]

        # the server goes away first; SIGTERM still stops serve promptly
        server_pid, serve_pid = map(int, re.search(r"JOBS=(\d+) (\d+)", out).groups())
        os.kill(server_pid, signal.SIGKILL)
        assert wait_gone(server_pid, 30)
        os.kill(serve_pid, signal.SIGTERM)
        assert wait_gone(serve_pid, 15), "flows.serve ignored SIGTERM"
    finally:
        kill_group(shell.pid)


def wait_gone(pid: int, bound_s: float) -> bool:
    """Whether the process is gone within the bound (a hang check, not a speed figure)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _zombie(pid):
            return True
        time.sleep(0.2)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, IndexError):
        return True


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def test_serve_refuses_to_start_with_every_problem_on_its_own_line(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CSC_", "PREFECT_API", "OPENAI_"))}
    env |= {"CSC_WAREHOUSE": str(tmp_path / "missing" / "wh.duckdb"), "CSC_NIGHTLY_TZ": "Mars"}
    done = subprocess.run([sys.executable, "-m", "flows.serve"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("flows.serve: cannot start: ") for line in lines), lines
    joined = "\n".join(lines)
    for expected in ("CSC_DROP_FOLDER", "CSC_LLM_BASE_URL", "CSC_WAREHOUSE",
                     "CSC_NIGHTLY_TZ=Mars must be a time zone name", "PREFECT_API_URL is not set"):
        assert expected in joined, expected
    assert "Traceback" not in done.stderr
