"""Fine-tune jobs (csc/finetune/jobs.py, docs/finetune.md "Jobs") over a real warehouse and the
real simulator over HTTP: the happy path end to end, a failing job, a hanging job cut by the
timeout and cancelled, back-off, a finished job never touched again, resumes (after a crash
at each step, and after a kill -9 while polling), and no secret in the warehouse or the logs."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from helpers import rolecs_accepted as _accepted
from kill9 import wait_for_word
from test_finetune_export import _many

from cli.main import main
from csc.finetune import jobs as J
from csc.finetune.launch import WarehouseJobs, export_ref, train
from csc.finetune.providers.openai_api import OpenAIProvider
from csc.finetune.service import run_trigger
from csc.paths import PROJECT_ROOT
from simulator import run_in_thread
from simulator.finetuning import FAILED_ON_REQUEST
from warehouse.db import connect, query

SECRET = "sk-csc-test-SECRET-0123456789abcdef"
OK_HISTORY = ["created", "uploaded", "submitted", "validating_files", "queued", "running",
              "succeeded"]


@pytest.fixture
def sim():
    with run_in_thread() as running:
        yield running


@pytest.fixture
def env(warehouse, sim, monkeypatch):
    """A warehouse with an export of 20 accepted dialogues (train and validation files), the
    LLM endpoint pointed at the simulator with a secret key, and quick polling."""
    for name, value in {"CSC_LLM_BASE_URL": sim.base_url, "CSC_LLM_API_KEY": SECRET,
                        "CSC_FINETUNE_POLL_S": "0.01", "CSC_FINETUNE_POLL_MAX_S": "0.02",
                        "CSC_FINETUNE_TIMEOUT_S": "30"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with connect(warehouse) as con:
        _accepted(con, _many(20))
    outcome = run_trigger(force=True)
    assert (outcome.path / "openai.validation.jsonl").is_file()  # two files to upload
    return outcome


def counts(sim) -> dict[str, int]:
    return httpx.get(f"{sim.root}/sim/fine_tuning", timeout=10).json()


def row(db: Path) -> dict:
    with connect(db) as con:
        found = query(con, "SELECT status, status_history::VARCHAR, provider_file_ids::VARCHAR, "
                           "provider_job_id, fine_tuned_model, error, finished_at "
                           "FROM finetune.jobs")
    assert len(found) == 1
    names = ("status", "history", "file_ids", "job_id", "model", "error", "finished_at")
    got = dict(zip(names, found[0], strict=True))
    got["history"] = json.loads(got["history"])
    got["file_ids"] = json.loads(got["file_ids"]) if got["file_ids"] else {}
    return got


def statuses(job_row: dict) -> list[str]:
    return [h["status"] for h in job_row["history"]]


class Counting:
    """A provider that records every call, and can stop the run as a crash would: at a call
    (`crash=("before", "upload", 2)`: the second upload never starts) or right after one
    returned, before run_job could store what it returned."""

    def __init__(self, inner, crash: tuple[str, str, int] | None = None,
                 poll_errors: int = 0) -> None:
        self.inner, self.crash, self.poll_errors = inner, crash, poll_errors
        self.name = inner.name
        self.calls: list[str] = []

    def __getattr__(self, method):
        real = getattr(self.inner, method)

        def call(*args, **kwargs):
            self.calls.append(method)
            if self.crash == ("before", method, self.calls.count(method)):
                raise Crash(method)
            if method == "poll" and self.poll_errors:
                self.poll_errors -= 1
                raise J.ProviderUnavailable("simulated blip")
            result = real(*args, **kwargs)
            if self.crash == ("after", method, self.calls.count(method)):
                raise Crash(method)
            return result
        return call


class Crash(BaseException):
    """Stands for the process dying: nothing in run_job catches it."""


def provider() -> OpenAIProvider:
    return OpenAIProvider.from_settings()


# -- the happy path ------------------------------------------------------------------------------

def test_an_export_is_uploaded_trained_and_recorded_with_its_model(env, sim, warehouse):
    job = train(provider(), "sim-base", suffix="csc")
    assert job.status == "succeeded" and job.error is None
    assert job.fine_tuned_model.startswith("ft:sim-base:csc-sim:csc:")
    stored = row(warehouse)
    assert statuses(stored) == OK_HISTORY
    assert stored["model"] == job.fine_tuned_model and stored["finished_at"] is not None
    assert set(stored["file_ids"]) == {"train", "validation"}
    assert stored["job_id"] == job.provider_job_id
    assert [h["at"] for h in stored["history"]] == sorted(h["at"] for h in stored["history"])
    assert stored["history"][1]["detail"] == (f"train {stored['file_ids']['train']}, "
                                              f"validation {stored['file_ids']['validation']}")
    assert c_shape(counts(sim)) == (2, 1, 0)
    # the job key: one per (provider, base model, export)
    assert job.job_key == J.job_key("openai", "sim-base", env.export.export_id)
    assert len({J.job_key("openai", "sim-base", "e"), J.job_key("openai", "sim-other", "e"),
                J.job_key("other", "sim-base", "e"), J.job_key("openai", "sim-base", "f")}) == 4


def c_shape(c: dict[str, int]) -> tuple[int, int, int]:
    return c["files_uploaded"], c["jobs_created"], c["jobs_cancelled"]


def test_a_finished_job_is_returned_as_it_is_with_no_provider_call(env, sim, warehouse):
    first = train(provider(), "sim-base")
    before, stored = counts(sim), row(warehouse)
    again = Counting(provider())
    assert train(again, "sim-base") == first
    assert again.calls == [] and counts(sim) == before and row(warehouse) == stored
    failed = train(provider(), "sim-fail")
    assert failed.status == "failed"
    rerun = Counting(provider())
    assert train(rerun, "sim-fail") == failed and rerun.calls == []


def test_a_failing_job_is_recorded_with_the_providers_message(env, sim, warehouse):
    job = train(provider(), "sim-fail")
    assert job.status == "failed" and job.fine_tuned_model is None
    assert job.error == FAILED_ON_REQUEST
    stored = row(warehouse)
    assert stored["error"] == FAILED_ON_REQUEST and stored["finished_at"] is not None
    assert statuses(stored) == [*OK_HISTORY[:-1], "failed"]
    assert stored["history"][-1]["detail"] == FAILED_ON_REQUEST


def test_an_invalid_training_file_fails_the_job_with_the_line_at_fault(env, warehouse):
    train_file = env.path / "openai.train.jsonl"
    lines = train_file.read_text(encoding="utf-8").splitlines()
    train_file.write_text("\n".join([lines[0], '{"prompt": "x"}', *lines[2:]]) + "\n",
                          encoding="utf-8")
    job = train(provider(), "sim-base")
    assert job.status == "failed"
    assert job.error.startswith("training_file file-") and job.error.endswith(
        "is invalid: line 2 has no 'messages' list")
    assert statuses(row(warehouse)) == ["created", "uploaded", "submitted", "validating_files",
                                        "failed"]


def test_a_refused_job_is_recorded_as_failed_and_not_tried_again(env, sim, warehouse):
    job = train(provider(), " ")  # the simulator refuses a blank base model at creation
    assert job.status == "failed" and job.provider_job_id is None
    assert "400: 'model' is required" in job.error
    assert statuses(row(warehouse)) == ["created", "uploaded", "failed"]
    again = Counting(provider())
    assert train(again, " ").status == "failed" and again.calls == []


# -- waiting: back-off, timeout, cancel ----------------------------------------------------------

def test_a_hanging_job_times_out_in_time_is_cancelled_and_recorded(env, sim, warehouse):
    started = time.monotonic()
    job = train(provider(), "sim-hang", timeout_s=0.5)
    took = time.monotonic() - started
    assert took < 0.5 + 3  # uploads and the job's creation, then at most the timeout
    assert job.status == "timed_out"
    assert job.error == "no result after 0.5 s of waiting; cancelled at the provider"
    assert counts(sim)["jobs_cancelled"] == 1
    assert provider().poll(job.provider_job_id).status == "cancelled"
    stored = row(warehouse)
    assert statuses(stored)[-2:] == ["running", "timed_out"] and stored["finished_at"]
    again = Counting(provider())
    assert train(again, "sim-hang").status == "timed_out" and again.calls == []


def test_polls_back_off_exponentially_up_to_the_longest_pause_and_stop_at_the_deadline(
        env, warehouse):
    clock, waits = [0.0], []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    job = J.run_job(WarehouseJobs(), provider(), export_ref(), "sim-hang",
                    polling=J.Polling(initial_s=1, max_s=4, timeout_s=20),
                    sleep=sleep, clock=lambda: clock[0])
    assert waits == [1, 2, 4, 4, 4, 4, 1]  # the last pause is what was left of the 20 s
    assert job.status == "timed_out" and job.error.startswith("no result after 20 s")
    # eight polls of a running job: each status once in the history
    assert statuses(row(warehouse)) == [*OK_HISTORY[:-1], "timed_out"]


def test_a_failed_poll_is_retried_and_a_failed_cancel_is_said(env, warehouse, sim):
    blip = Counting(provider(), poll_errors=2)
    assert train(blip, "sim-base").status == "succeeded"
    assert blip.calls.count("poll") == 2 + 4  # two blips, then the four statuses
    assert "failed" not in statuses(row(warehouse))

    class NoCancel(Counting):
        def cancel(self, job_id):
            raise J.ProviderUnavailable("cancel endpoint down")

    job = J.run_job(WarehouseJobs(), NoCancel(provider()), export_ref(), "sim-hang",
                    polling=J.Polling(initial_s=0.01, max_s=0.01, timeout_s=0.2))
    assert job.status == "timed_out"
    assert job.error == "no result after 0.2 s of waiting; cancelling it failed: cancel " \
                        "endpoint down"


# -- resume --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("crash", "history", "uploads", "calls"), [
    # the train file's id stored: only the validation file is uploaded
    (("before", "upload", 2), ["created"], 1, ["training_files", "upload", "start", "poll"]),
    # both ids stored, no job yet: none is found, one is created
    (("before", "start", 1), ["created", "uploaded"], 0,
     ["training_files", "find", "start", "poll"]),
    # the provider created the job, its id not stored yet: found by its key, not recreated
    (("after", "start", 1), ["created", "uploaded"], 0, ["training_files", "find", "poll"]),
    # the job id stored: polled, nothing else
    (("before", "poll", 1), ["created", "uploaded", "submitted"], 0, ["training_files", "poll"]),
    # the one gap: a file uploaded whose id was not stored yet is uploaded again (the first
    # copy is left unused at the provider; docs/finetune.md)
    (("after", "upload", 1), ["created"], 2, ["training_files", "upload", "start", "poll"]),
])
def test_a_rerun_resumes_from_what_the_row_holds(crash, history, uploads, calls, env, sim,
                                                  warehouse):
    with pytest.raises(Crash):
        train(Counting(provider(), crash=crash), "sim-base")
    stored = row(warehouse)
    assert statuses(stored) == history
    before = counts(sim)
    rerun = Counting(provider())
    job = train(rerun, "sim-base")
    assert job.status == "succeeded"
    assert list(dict.fromkeys(rerun.calls)) == calls
    after = counts(sim)
    assert after["files_uploaded"] - before["files_uploaded"] == uploads
    assert after["jobs_created"] == 1  # one job, whatever the crash
    assert job.file_ids.items() >= stored["file_ids"].items()  # ids kept, not replaced
    assert stored["job_id"] in (None, job.provider_job_id)


def test_a_provider_out_of_reach_leaves_the_job_to_resume(env, sim, warehouse, monkeypatch):
    down = OpenAIProvider("http://127.0.0.1:9/v1", SECRET, max_retries=0, timeout_s=2)
    with pytest.raises(J.ProviderUnavailable, match=r"^uploading openai\.train\.jsonl at "):
        train(down, "sim-base")
    assert row(warehouse)["status"] == "created"
    assert train(provider(), "sim-base").status == "succeeded"


CHILD = textwrap.dedent("""
    import os, sys, threading
    from csc.finetune.providers.openai_api import OpenAIProvider

    ready, poll, seen = int(sys.argv[1]), OpenAIProvider.poll, []

    def poll_then_freeze(self, job_id):
        state = poll(self, job_id)
        seen.append(state.status)
        if len(seen) == 2:  # validating_files recorded; queued read, not yet recorded
            os.write(ready, b"polling\\n")
            threading.Event().wait()  # frozen until killed
        return state

    OpenAIProvider.poll = poll_then_freeze
    from csc.finetune.launch import provider_named, train

    train(provider_named("openai"), "sim-base")
    os.write(ready, b"finished\\n")
""")


def test_kill_9_while_polling_then_a_rerun_resumes_the_same_job(env, sim, warehouse, tmp_path):
    read_end, write_end = os.pipe()
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(write_end)], cwd=PROJECT_ROOT,
            env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)), stdout=out, stderr=out,
            pass_fds=(write_end,))
    os.close(write_end)
    try:
        word = wait_for_word(read_end, timeout=120)
    finally:
        os.close(read_end)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert word == "polling", log.read_text(errors="replace")[-3000:]
    killed = row(warehouse)
    assert statuses(killed) == ["created", "uploaded", "submitted", "validating_files"]
    before = counts(sim)
    assert c_shape(before) == (2, 1, 0)

    rerun = Counting(provider())
    job = train(rerun, "sim-base")
    assert job.status == "succeeded" and job.provider_job_id == killed["job_id"]
    assert job.file_ids == killed["file_ids"]
    assert set(rerun.calls) == {"training_files", "poll"}
    assert c_shape(counts(sim)) == (2, 1, 0)  # nothing uploaded, no job created
    assert statuses(row(warehouse)) == ["created", "uploaded", "submitted", "validating_files",
                                        "running", "succeeded"]


# -- secrets -------------------------------------------------------------------------------------

def test_no_api_key_in_the_warehouse_or_the_logs(env, sim, warehouse, caplog):
    caplog.set_level(logging.DEBUG)
    assert train(provider(), "sim-base").status == "succeeded"
    assert train(provider(), "sim-fail").status == "failed"
    assert train(provider(), "sim-hang", timeout_s=0.2).status == "timed_out"
    with pytest.raises(J.ProviderUnavailable) as refused:
        train(OpenAIProvider("http://127.0.0.1:9/v1", SECRET, max_retries=0), "sim-other")
    assert "fine-tune job" in caplog.text  # the jobs did log
    assert SECRET not in caplog.text and SECRET not in str(refused.value)
    assert SECRET not in repr(provider())
    with connect(warehouse) as con:
        everything = query(con, "SELECT * FROM finetune.jobs")
    assert SECRET not in str(everything)
    assert SECRET.encode() not in warehouse.read_bytes()


# -- the command ---------------------------------------------------------------------------------

def test_csc_finetune_run_prints_the_job_and_reruns_it_without_a_call(env, sim, capsys):
    assert main(["finetune", "run", "--provider", "openai", "--base-model", "sim-base"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("succeeded: job ") and lines[1].startswith(
        "fine-tuned model: ft:sim-base:csc-sim:")
    assert "offline simulator" in out.err  # a stand-in, said so
    before = counts(sim)
    assert main(["finetune", "run", "--provider", "openai", "--base-model", "sim-base"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == lines[:2] and counts(sim) == before
    assert main(["finetune", "run", "--provider", "openai", "--base-model", "sim-fail"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"error: {FAILED_ON_REQUEST}"
    assert main(["finetune", "jobs"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and " failed " in listed[0] and " succeeded " in listed[1]


@pytest.mark.parametrize(("argv", "says"), [
    (["finetune", "llamafactory"], "finetune llamafactory needs --base-model MODEL"),
    (["finetune", "run", "--base-model", "m", "--export", "nope"],
     "no fine-tune export nope in the warehouse"),
    (["finetune", "run", "--base-model", "m", "--template", "qwen"], "--template: for "),
    (["finetune", "llamafactory", "--base-model", "m", "--suffix", "x"], "for run only"),
])
def test_a_mistake_with_finetune_is_one_line_and_exit_2(argv, says, env, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_timeout_that_is_no_positive_number_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["finetune", "run", "--provider", "openai", "--base-model", "m", "--timeout", "0"])
    assert exited.value.code == 2
    assert "argument --timeout: 0 must be a number of seconds > 0" in capsys.readouterr().err


def test_the_base_model_defaults_to_the_setting_then_the_candidate_model(env, sim, capsys,
                                                                         monkeypatch):
    monkeypatch.setenv("CSC_LLM_CANDIDATE_MODEL", "sim-candidate")
    monkeypatch.setenv("CSC_FINETUNE_PROVIDER", "openai")  # the provider from the setting
    assert main(["finetune", "run"]) == 0
    assert "sim-candidate on export" in capsys.readouterr().out.splitlines()[0]
    monkeypatch.setenv("CSC_FINETUNE_BASE_MODEL", "sim-chosen")
    assert main(["finetune", "run"]) == 0
    assert "sim-chosen on export" in capsys.readouterr().out.splitlines()[0]
    monkeypatch.delenv("CSC_FINETUNE_BASE_MODEL")
    monkeypatch.delenv("CSC_FINETUNE_PROVIDER")  # the default provider: local, on its base
    assert main(["finetune", "run"]) == 0
    assert "local" in (out := capsys.readouterr().out.splitlines()[0])
    assert "retrieval-tfidf on export" in out
    monkeypatch.setenv("CSC_FINETUNE_PROVIDER", "off")
    assert main(["finetune", "run"]) == 2
    assert "CSC_FINETUNE_PROVIDER is off" in capsys.readouterr().err


def test_no_export_or_no_endpoint_is_one_line_and_exit_2(warehouse, monkeypatch, capsys):
    monkeypatch.setenv("CSC_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("CSC_LLM_API_KEY", SECRET)
    assert main(["finetune", "run", "--provider", "openai", "--base-model", "m"]) == 2
    err = capsys.readouterr().err
    assert err == "csc: error: no fine-tune export yet: make one with `csc export sft`\n"
    monkeypatch.delenv("CSC_LLM_BASE_URL")
    assert main(["finetune", "run", "--provider", "openai", "--base-model", "m"]) == 2
    err = capsys.readouterr().err
    assert "no LLM endpoint is configured" in err and err.count("\n") == 1
