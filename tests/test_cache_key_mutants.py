"""Pins the exact form of the LLM cache key (issue 9, docs/testing.md).

test_cache_key.py proves that every component changes the key; these tests pin *how* the key
is made, so that a renamed field or an escaping change, which would silently orphan every
stored answer in the response cache, fails a test: the key is the SHA-256 hex digest of the
UTF-8 JSON object below, keys sorted, Chinese characters written as themselves.
"""

import hashlib

from csc.llm.gateway import LLMRequest, cache_key
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import PrefilterVerdict, Role


def settings() -> LLMSettings:
    role = RoleSettings(model="model-a", temperature=0.0, max_tokens=256, timeout=30.0)
    return LLMSettings(base_url="https://llm.example.com/v1/", api_key="sk-key-one",
                       roles={Role.PREFILTER_JUDGE: role})


def request(response_type=PrefilterVerdict) -> LLMRequest:
    return LLMRequest(role=Role.PREFILTER_JUDGE,
                      messages=[{"role": "user", "content": "客户：你好"}],
                      item_key="d1", prompt_version="prefilter-v1", response_type=response_type)


def sha(blob: str) -> str:
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def test_key_is_the_hash_of_the_hand_written_json():
    blob = ('{"endpoint": "https://llm.example.com/v1", "max_tokens": 256, '
            '"messages": [{"content": "客户：你好", "role": "user"}], "model": "model-a", '
            '"prompt_version": "prefilter-v1", "response": "PrefilterVerdict", '
            '"temperature": 0.0}')
    assert cache_key(settings(), request()) == sha(blob)


def test_plain_text_answer_is_keyed_as_text():
    blob = ('{"endpoint": "https://llm.example.com/v1", "max_tokens": 256, '
            '"messages": [{"content": "客户：你好", "role": "user"}], "model": "model-a", '
            '"prompt_version": "prefilter-v1", "response": "text", "temperature": 0.0}')
    assert cache_key(settings(), request(response_type=None)) == sha(blob)


def test_chinese_is_not_escaped_in_the_key():
    escaped = ('{"endpoint": "https://llm.example.com/v1", "max_tokens": 256, '
               '"messages": [{"content": "\\u5ba2\\u6237\\uff1a\\u4f60\\u597d", "role": "user"}], '
               '"model": "model-a", "prompt_version": "prefilter-v1", '
               '"response": "PrefilterVerdict", "temperature": 0.0}')
    assert cache_key(settings(), request()) != sha(escaped)
