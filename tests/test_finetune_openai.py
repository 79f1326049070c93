"""The OpenAI-compatible fine-tuning provider (csc/finetune/providers/openai_api.py) against the
simulator's files and fine-tuning endpoints (simulator/finetuning.py), with the real openai SDK
over HTTP: the shapes the SDK parses, the job's steps and markers, the file check, refusals
and outages told apart, the key scrubbed from messages, and the endpoint from the settings."""

from __future__ import annotations

import json

import openai
import pytest

from csc.finetune.jobs import ExportRef, NotTrainable, ProviderRefused, ProviderUnavailable
from csc.finetune.providers.openai_api import OpenAIProvider, redact
from csc.llm.settings import LLMNotConfigured
from simulator import run_in_thread
from simulator.finetuning import FAILED_ON_REQUEST, check_jsonl

KEY = "sk-test-KEY-abcdefghijklmnop"
GOOD = json.dumps({"messages": [{"role": "user", "content": "hi"},
                                {"role": "assistant", "content": "hello"}]}) + "\n"


@pytest.fixture
def sim():
    with run_in_thread() as running:
        yield running


@pytest.fixture
def export(tmp_path) -> ExportRef:
    (tmp_path / "openai.train.jsonl").write_text(GOOD * 3, encoding="utf-8")
    (tmp_path / "openai.validation.jsonl").write_text(GOOD, encoding="utf-8")
    return ExportRef("e" * 16, tmp_path)


def started(provider: OpenAIProvider, export: ExportRef, model: str = "sim-base",
            suffix: str | None = None, key: str = "k" * 16) -> str:
    files = provider.training_files(export)
    ids = {split: provider.upload(split, path) for split, path in files.items()}
    return provider.start(model, ids, key, suffix)


def statuses(provider: OpenAIProvider, job_id: str, polls: int) -> list[str]:
    return [provider.poll(job_id).status for _ in range(polls)]


def test_files_upload_and_read_back_in_the_sdks_shape(sim, export):
    provider = OpenAIProvider(sim.base_url, KEY)
    file_id = provider.upload("train", export.path / "openai.train.jsonl")
    client = openai.OpenAI(base_url=sim.base_url, api_key=KEY)
    found = client.files.retrieve(file_id)
    assert (found.id, found.purpose, found.filename, found.bytes, found.status) == (
        file_id, "fine-tune", "openai.train.jsonl", len(GOOD.encode()) * 3, "processed")
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-nope")
    with pytest.raises(openai.BadRequestError, match="purpose 'fine-tune' only"):
        client.files.create(file=("x.jsonl", GOOD.encode()), purpose="batch")


def test_a_job_goes_through_every_status_and_names_its_model(sim, export):
    provider = OpenAIProvider(sim.base_url, KEY)
    job_id = started(provider, export, suffix="night")
    states = [provider.poll(job_id) for _ in range(5)]
    assert [s.status for s in states] == ["validating_files", "queued", "running", "succeeded",
                                         "succeeded"]
    assert states[3].fine_tuned_model == f"ft:sim-base:csc-sim:night:{job_id[-6:]}"
    assert states[1].detail == "job is queued" and "not a trained model" in states[3].detail
    client = openai.OpenAI(base_url=sim.base_url, api_key=KEY)
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert job.validation_file and job.training_file and job.metadata == {
        "csc_job_key": "k" * 16}
    events = client.fine_tuning.jobs.list_events(job_id).data
    assert events[0].message.startswith("simulated job finished")  # newest first
    assert events[-1].message.startswith(f"created fine-tuning job {job_id}")


def test_fail_and_hang_markers_in_the_model_or_the_suffix(sim, export):
    provider = OpenAIProvider(sim.base_url, KEY)
    for model, suffix in (("sim-fail", None), ("sim-base", "will-FAIL")):
        job_id = started(provider, export, model, suffix)
        last = [provider.poll(job_id) for _ in range(4)][-1]
        assert (last.status, last.error) == ("failed", FAILED_ON_REQUEST)
        assert last.detail == f"job failed: {FAILED_ON_REQUEST}" and not last.fine_tuned_model
    job_id = started(provider, export, "sim-hang")
    assert statuses(provider, job_id, 10)[-7:] == ["running"] * 7
    provider.cancel(job_id)
    assert provider.poll(job_id).status == "cancelled"
    with pytest.raises(ProviderRefused, match=r"400: job .* is cancelled already"):
        provider.cancel(job_id)


@pytest.mark.parametrize(("text", "problem"), [
    (GOOD, None),
    ("", "the file holds no example"),
    (GOOD + "not json\n", "line 2 is not JSON"),
    ('["messages"]\n', "line 1 has no 'messages' list"),
    ('{"messages": []}\n', "line 1 has no 'messages' list"),
    ('{"messages": [{"role": "user"}]}\n', "line 1: every message needs a role and a text"),
    ('{"messages": [{"content": "x"}]}\n', "line 1: every message needs a role and a text"),
])
def test_the_simulator_checks_each_line_of_a_file(text, problem):
    found = check_jsonl(text.encode())
    assert found == problem or (problem and found.startswith(problem))


def test_a_bad_file_fails_the_job_at_validation_with_its_line(sim, export):
    (export.path / "openai.validation.jsonl").write_text(GOOD + "{oops\n", encoding="utf-8")
    provider = OpenAIProvider(sim.base_url, KEY)
    job_id = started(provider, export)
    first, second = provider.poll(job_id), provider.poll(job_id)
    assert first.status == "validating_files" and second.status == "failed"
    assert second.error.startswith("validation_file file-")
    assert second.error.endswith("is invalid: line 2 is not JSON")


def test_find_returns_the_job_started_under_a_key_and_none_for_another(sim, export):
    provider = OpenAIProvider(sim.base_url, KEY)
    first = started(provider, export, key="a" * 16)
    second = started(provider, export, key="b" * 16)
    assert provider.find("a" * 16) == first and provider.find("b" * 16) == second
    assert provider.find("c" * 16) is None
    client = openai.OpenAI(base_url=sim.base_url, api_key=KEY)  # the simulator filters
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"csc_job_key": "a" * 16})] == [
        first]
    assert [j.id for j in client.fine_tuning.jobs.list()] == [second, first]  # newest first


def test_find_checks_the_key_itself_when_a_server_ignores_the_filter(sim, export, monkeypatch):
    provider = OpenAIProvider(sim.base_url, KEY)
    first = started(provider, export, key="a" * 16)
    jobs = provider._client.fine_tuning.jobs
    unfiltered = jobs.list
    monkeypatch.setattr(jobs, "list", lambda metadata=None, **kw: unfiltered(**kw))
    assert provider.find("b" * 16) is None and provider.find("a" * 16) == first


def test_refusals_and_outages_are_told_apart(sim, export):
    provider = OpenAIProvider(sim.base_url, KEY)
    with pytest.raises(ProviderRefused, match="training_file file-nope does not exist"):
        provider.start("sim-base", {"train": "file-nope"}, "k", None)
    with pytest.raises(ProviderRefused, match="404: no fine-tuning job ftjob-nope"):
        provider.poll("ftjob-nope")
    down = OpenAIProvider("http://127.0.0.1:9/v1", KEY, max_retries=0, timeout_s=2)
    with pytest.raises(ProviderUnavailable, match=r"^reading job j at http://127.0.0.1:9/v1 "):
        down.poll("j")


def test_the_export_must_hold_the_openai_train_file(tmp_path):
    (tmp_path / "sharegpt.train.jsonl").write_text(GOOD, encoding="utf-8")
    provider = OpenAIProvider("http://127.0.0.1:9/v1", KEY)
    with pytest.raises(NotTrainable, match=r"no openai\.train\.jsonl .* --format openai"):
        provider.training_files(ExportRef("e" * 16, tmp_path))
    (tmp_path / "openai.train.jsonl").write_text(GOOD, encoding="utf-8")
    assert provider.training_files(ExportRef("e" * 16, tmp_path)) == {
        "train": tmp_path / "openai.train.jsonl"}  # no validation file: train alone


def test_the_key_is_scrubbed_whole_and_in_pieces():
    assert redact(f"Incorrect API key provided: {KEY}.", KEY) == \
        "Incorrect API key provided: [redacted]."
    assert KEY[3:11] not in redact(f"key sk-***{KEY[3:11]}***", KEY)
    assert redact("nothing secret", KEY) == "nothing secret" and redact("x", "") == "x"
    assert KEY not in repr(OpenAIProvider("http://127.0.0.1:9/v1", KEY))


def test_the_endpoint_and_key_come_from_the_llm_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("CSC_LLM_BASE_URL", "CSC_LLM_API_KEY", "OPENAI_API_KEY", "CSC_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(LLMNotConfigured, match="no LLM endpoint is configured"):
        OpenAIProvider.from_settings()
    monkeypatch.setenv("CSC_LLM_BASE_URL", "https://ft.example/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    provider = OpenAIProvider.from_settings()  # no model needed: the job names its own
    assert provider.base_url == "https://ft.example/v1" and not provider.simulated
    assert provider._client.api_key == KEY


def test_simulator_by_name_is_started_and_said_to_be_one(monkeypatch, tmp_path, export):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")
    monkeypatch.delenv("CSC_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = OpenAIProvider.from_settings()
    assert provider.simulated and provider.base_url.startswith("http://127.0.0.1:")
    assert provider.poll(started(provider, export)).status == "validating_files"


def test_the_simulator_counts_what_it_was_asked(sim, export):
    import httpx

    provider = OpenAIProvider(sim.base_url, KEY)
    job_id = started(provider, export)
    provider.poll(job_id)
    provider.cancel(job_id)
    got = httpx.get(f"{sim.root}/sim/fine_tuning", timeout=10).json()
    assert got == {"files_uploaded": 2, "jobs_created": 1, "jobs_read": 1, "events_read": 1,
                   "jobs_listed": 0, "jobs_cancelled": 1}

