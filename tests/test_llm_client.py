"""The gateway's one request: `create_chat_completion` sends what the SDK's `create` would
(body, bearer auth, headers, timeout) over real HTTP, keeps the SDK's error classes, and reads
the answer as leniently as the SDK's models; `read_completion` on hand-written bodies."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest

from csc.llm.client import (
    Completion,
    UnreadableCompletion,
    create_chat_completion,
    read_completion,
    sdk_client,
)


class _Endpoint:
    """A loopback HTTP server that records each request and answers with a set status/body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status, self.body = 200, b"{}"
        self.delay = 0.0  # seconds before answering, so requests overlap
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                headers = {k.lower(): v for k, v in self.headers.items()}
                endpoint.requests.append({"path": self.path, "headers": headers,
                                          "body": json.loads(self.rfile.read(length))})
                time.sleep(endpoint.delay)
                self.send_response(endpoint.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(endpoint.body)))
                self.end_headers()
                self.wfile.write(endpoint.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    e = _Endpoint()
    yield e
    e.close()


def _send(endpoint: _Endpoint, params: dict[str, Any]) -> Completion:
    async def go() -> Completion:
        client = sdk_client(endpoint.url, "secret-key")
        try:
            return await create_chat_completion(client, params)
        finally:
            await client.close()
    return asyncio.run(go())


ANSWER = {"id": "c1", "object": "chat.completion", "model": "m", "choices": [
    {"index": 0, "finish_reason": "stop",
     "message": {"role": "assistant", "content": "hello", "reasoning_content": "thought"}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15,
              "completion_tokens_details": {"reasoning_tokens": 2}}}


def test_sends_what_create_sends_and_reads_the_answer(endpoint):
    endpoint.body = json.dumps(ANSWER).encode()
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u 你好"}]
    got = _send(endpoint, {"model": "m1", "messages": messages, "temperature": 0.0,
                           "max_tokens": 7, "timeout": 5.0,
                           "extra_headers": {"X-CSC-Role": "planner"}})
    assert got == Completion("hello", "thought", (12, 3, 2))
    (req,) = endpoint.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer secret-key"
    assert req["headers"]["x-csc-role"] == "planner"
    assert req["headers"]["x-stainless-read-timeout"] == "5.0"  # the timeout option
    # the options are not part of the body; everything else is, unchanged
    assert req["body"] == {"model": "m1", "messages": messages, "temperature": 0.0,
                           "max_tokens": 7}


@pytest.mark.parametrize(("status", "error"), [
    (429, openai.RateLimitError), (500, openai.InternalServerError),
    (401, openai.AuthenticationError), (400, openai.BadRequestError)])
def test_an_error_status_raises_the_sdks_error(endpoint, status, error):
    endpoint.status, endpoint.body = status, b'{"error": {"message": "no"}}'
    with pytest.raises(error):
        _send(endpoint, {"model": "m", "messages": [{"role": "user", "content": "x"}]})


def test_an_answer_that_is_not_json_is_unreadable(endpoint):
    endpoint.body = b"<html>gateway error</html>"
    with pytest.raises(UnreadableCompletion, match="not JSON"):
        _send(endpoint, {"model": "m", "messages": [{"role": "user", "content": "x"}]})


@pytest.mark.parametrize("body", [
    {}, {"choices": []}, {"choices": None}, {"choices": [{}]}, {"choices": [{"message": None}]},
    {"choices": "x"}, [], {"choices": [["message"]]}])
def test_no_choice_is_unreadable(body):
    with pytest.raises(UnreadableCompletion, match="no choices"):
        read_completion(json.dumps(body).encode())


def test_missing_and_null_fields_read_as_empty():
    assert read_completion(b'{"choices": [{"message": {}}]}') == Completion("", None, (0, 0, 0))
    body = {"choices": [{"message": {"content": None, "reasoning_content": ""}}],
            "usage": {"prompt_tokens": None, "completion_tokens": True,
                      "completion_tokens_details": None}}
    assert read_completion(json.dumps(body).encode()) == Completion("", None, (0, 0, 0))


def test_only_the_first_choice_is_read():
    body = {"choices": [{"message": {"content": "first"}}, {"message": {"content": "second"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1}}
    assert read_completion(json.dumps(body).encode()) == Completion("first", None, (5, 1, 0))


def test_the_gateway_retries_an_unreadable_answer_then_dead_letters_it(endpoint, tmp_path):
    """A 200 that is not a chat completion (a proxy's error page) is a transport failure:
    retried, and after the last attempt the item is a failure that says why."""
    from dataclasses import replace

    from csc.llm.gateway import LLMFailure, LLMGateway, LLMRequest
    from csc.llm.journal import Journal
    from csc.llm.settings import LLMSettings, RoleSettings
    from schemas.llm import Role

    endpoint.body = b"<html>bad gateway</html>"
    roles = {r: RoleSettings(model="m", temperature=0.0, max_tokens=None, timeout=5.0)
             for r in Role}
    settings = replace(LLMSettings(base_url=endpoint.url, api_key="k", roles=roles),
                       max_attempts=3, backoff_base=0.01, backoff_cap=0.02)
    journal = Journal(tmp_path / "cache.sqlite")
    req = LLMRequest(Role.PLANNER, [{"role": "user", "content": "plan"}], item_key="i1",
                     prompt_version="t1")

    async def go():
        gw = LLMGateway(settings, journal, run_id="r", stage="t")
        try:
            return await gw.run_all([req])
        finally:
            await gw.aclose()

    (result,) = asyncio.run(go())
    journal.close()
    assert isinstance(result, LLMFailure)
    assert "not JSON" in result.error
    assert len(endpoint.requests) == 3  # every attempt went out


def _gateway_run(endpoint, tmp_path, reqs, **settings_over):
    from dataclasses import replace

    from csc.llm.gateway import LLMGateway
    from csc.llm.journal import Journal
    from csc.llm.settings import LLMSettings, RoleSettings
    from schemas.llm import Role

    roles = {r: RoleSettings(model="m", temperature=0.0, max_tokens=None, timeout=5.0)
             for r in Role}
    settings = replace(LLMSettings(base_url=endpoint.url, api_key="k", roles=roles),
                       backoff_base=0.01, backoff_cap=0.02, **settings_over)
    journal = Journal(tmp_path / "cache.sqlite")

    async def go():
        gw = LLMGateway(settings, journal, run_id="r", stage="t")
        try:
            return await gw.run_all(reqs), gw.stats
        finally:
            await gw.aclose()

    try:
        return asyncio.run(go())
    finally:
        journal.close()


def _plan_request(item: str):
    from csc.llm.gateway import LLMRequest
    from schemas.llm import Role

    return LLMRequest(Role.PLANNER, [{"role": "user", "content": "the same prompt"}],
                      item_key=item, prompt_version="t1")


def test_identical_requests_in_flight_are_sent_once(endpoint, tmp_path):
    """Many items opening with the same prompt (every dialogue's first turn asked with an
    empty history) ask the endpoint once; the others wait for that answer."""
    endpoint.body, endpoint.delay = json.dumps(ANSWER).encode(), 0.2
    results, stats = _gateway_run(endpoint, tmp_path,
                                  [_plan_request(f"i{n}") for n in range(10)])
    assert len(endpoint.requests) == 1
    assert [r.value for r in results] == ["hello"] * 10
    assert [r.item_key for r in results] == [f"i{n}" for n in range(10)]
    assert (stats.cache_misses, stats.cache_hits) == (1, 9)


def test_when_the_first_of_identical_requests_fails_the_others_still_ask(endpoint, tmp_path):
    """The one in flight dead-letters: its answer is not cached, so each waiter asks on its
    own (and, the endpoint being no better, fails on its own): none is lost or stuck."""
    from csc.llm.gateway import LLMFailure

    endpoint.status, endpoint.body, endpoint.delay = 500, b'{"error": {}}', 0.05
    results, _ = _gateway_run(endpoint, tmp_path, [_plan_request(f"i{n}") for n in range(3)],
                              max_attempts=2)
    assert all(isinstance(r, LLMFailure) for r in results) and len(results) == 3
    assert len(endpoint.requests) == 3 * 2  # each item tried its own attempts
