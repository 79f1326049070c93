"""The LLM response cache key: every input that can change an answer is part of it, and
nothing else is. Two requests that differ only in one component must get different keys
(else a cached answer to one would be served for the other); identical requests the same key.
"""

from dataclasses import replace

import pytest

from csc.llm.gateway import LLMRequest, cache_key
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import PostfilterVerdict, PrefilterVerdict, Role

MESSAGES = [{"role": "system", "content": "You judge dialogues."},
            {"role": "user", "content": "客户：你好\n客服：您好"}]


def settings(base_url: str = "https://llm.example.com/v1", **role_over) -> LLMSettings:
    role = RoleSettings(**({"model": "model-a", "temperature": 0.0, "max_tokens": 256,
                            "timeout": 30.0} | role_over))
    return LLMSettings(base_url=base_url, api_key="sk-key-one", roles={Role.PREFILTER_JUDGE: role})


def request(**over) -> LLMRequest:
    base = {"role": Role.PREFILTER_JUDGE, "messages": [dict(m) for m in MESSAGES],
            "item_key": "d1", "prompt_version": "prefilter-v1",
            "response_type": PrefilterVerdict}
    return LLMRequest(**(base | over))


def key(s: LLMSettings | None = None, r: LLMRequest | None = None) -> str:
    return cache_key(s or settings(), r or request())


def test_identical_requests_get_the_same_key():
    assert key() == key(settings(), request())  # separately built, equal in value
    assert len(key()) == 64 and int(key(), 16) >= 0  # a sha256 hex digest


@pytest.mark.parametrize(("component", "other_settings", "other_request"), [
    ("prompt_version", None, request(prompt_version="prefilter-v2")),
    ("endpoint", settings(base_url="https://other.example.com/v1"), None),
    ("endpoint path", settings(base_url="https://llm.example.com/v2"), None),
    ("model", settings(model="model-b"), None),
    ("message content", None, request(messages=[MESSAGES[0], {
        "role": "user", "content": "客户：你好！\n客服：您好"}])),
    ("message role", None, request(messages=[{**MESSAGES[0], "role": "user"}, MESSAGES[1]])),
    ("message order", None, request(messages=MESSAGES[::-1])),
    ("one more message", None, request(messages=[*MESSAGES, {"role": "user", "content": "?"}])),
    ("temperature", settings(temperature=0.8), None),
    ("temperature unset", settings(temperature=None), None),
    ("max_tokens", settings(max_tokens=512), None),
    ("max_tokens unset", settings(max_tokens=None), None),
    ("response type", None, request(response_type=PostfilterVerdict)),
    ("plain text answer", None, request(response_type=None)),
])
def test_each_component_changes_the_key(component, other_settings, other_request):
    assert key(other_settings, other_request) != key(), component


@pytest.mark.parametrize(("what", "other_settings", "other_request"), [
    ("item_key: the same question for another dialogue", None, request(item_key="d2")),
    ("api key", replace(settings(), api_key="sk-key-two"), None),
    ("timeout", settings(timeout=5.0), None),
    ("trailing slash of the URL", settings(base_url="https://llm.example.com/v1/"), None),
    ("key order inside a message", None,
     request(messages=[{"content": m["content"], "role": m["role"]} for m in MESSAGES])),
])
def test_what_cannot_change_the_answer_does_not_change_the_key(what, other_settings,
                                                               other_request):
    assert key(other_settings, other_request) == key(), what



def test_the_simulator_is_known_by_its_code_and_seed_not_its_port(monkeypatch):
    # CSC_LLM_BASE_URL=simulator starts one on a random port per process; a cache written by
    # one process must serve the next (issue 11 B1), and a different seed must not.
    from csc.llm import endpoint

    monkeypatch.delenv("CSC_SIM_SEED", raising=False)
    chosen = settings("simulator")
    monkeypatch.setattr(endpoint, "simulator_url", lambda: "http://127.0.0.1:40001/v1")
    first = endpoint.resolve(chosen)
    monkeypatch.setattr(endpoint, "simulator_url", lambda: "http://127.0.0.1:40002/v1")
    second = endpoint.resolve(chosen)
    assert first.base_url != second.base_url
    assert key(first) == key(second) == key(chosen)
    assert first.endpoint_identity.startswith("simulator@")
    assert first.endpoint_identity.endswith(":seed=0")
    monkeypatch.setenv("CSC_SIM_SEED", "7")
    assert key(endpoint.resolve(chosen)) != key(first)
    # a real endpoint is its URL, whatever the simulator does
    assert settings().endpoint_identity == "https://llm.example.com/v1"
    assert key(settings()) != key(first)
