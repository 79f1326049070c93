"""What the gateway no longer does on the event loop for every call, and that it still means
the same: the templates read once per gateway, the call ids, the prompt's JSON block, and
split_reasoning's shortcut for answers without a <think> tag."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from csc.llm.asking import request_for, template_for
from csc.llm.gateway import LLMGateway
from csc.llm.journal import Journal
from csc.llm.parsing import split_reasoning
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import DialogueInput, InputTurn, Role


def _settings() -> LLMSettings:
    roles = {r: RoleSettings(model=f"sim-{r.value}", temperature=0.0, max_tokens=None,
                             timeout=5.0) for r in Role}
    return LLMSettings(base_url="http://127.0.0.1:9/v1", api_key="k", roles=roles)


def test_call_ids_are_unique_32_hex_digits(tmp_path: Path):
    journal = Journal(tmp_path / "cache.sqlite")
    req = request_for(Role.PREFILTER_JUDGE, {"language": "zh", "dialogue": []}, "zh", "d1")
    for _ in range(2):
        gw = LLMGateway(_settings(), journal, run_id="r", stage="s")
        for _ in range(300):
            gw._account(req, "key", "ok", [1, 1, 0], 0.0, 1, 0, time.monotonic(), None, None)
    columns, rows = journal.pending("calls")
    ids = [r[columns.index("call_id")] for r in rows]
    assert len(ids) == 600 and len(set(ids)) == 600
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    journal.close()


def test_templates_read_once_per_gateway_give_the_same_request(monkeypatch):
    payload = DialogueInput(language="zh", dialogue=[
        InputTurn(speaker="customer", text="你好"), InputTurn(speaker="supporter", text="您好")])
    memo: dict = {}
    for role in (Role.PREFILTER_JUDGE, Role.REWRITER, Role.POSTFILTER_JUDGE):
        plain = request_for(role, payload, "zh", "d1")
        once = request_for(role, payload, "zh", "d1", templates=memo)
        again = request_for(role, payload, "zh", "d1", templates=memo)
        assert plain == once == again
    # the variant is read with the template, once: a gateway's run keeps what it started with
    monkeypatch.setenv("CSC_POSTFILTER_JUDGE_VARIANT", "strict")
    kept = template_for(Role.POSTFILTER_JUDGE, "zh", memo)
    fresh = template_for(Role.POSTFILTER_JUDGE, "zh")
    assert kept[0].version.startswith("postfilter_judge.zh@")
    assert fresh[0].version.startswith("postfilter_judge.strict.zh@")
    assert fresh[1] is not kept[1]  # the strict variant's answer type


@pytest.mark.parametrize("content, reasoning", [
    ('{"a": 1}', None), ('  {"a": 1}\n', "thought"), ("", None), ("", ""), ("plain < text >", None),
    ('<think>x</think>{"a": 1}', None), ('<THINK>x</Think> {"a": "<think>y</think>"}', "r"),
    ('pre <think>x</think> post', None), ("<think>unclosed", None),
])
def test_split_reasoning_with_and_without_a_tag(content, reasoning):
    split = split_reasoning(content, reasoning)
    if "<think>" not in content.lower():
        assert split.answer == content.strip() and split.reasoning == (reasoning or None)
    else:
        assert "x" not in split.answer or "<think>y" in split.answer


def test_the_prompt_json_block_is_json_dumps_character_for_character():
    import json
    import random

    from csc.prompts import json_block

    rng = random.Random(1)
    chars = ["a", "中", "\n", '"', "\\", "\u2028", "\x00", "é", "😀", " ", "/", "\t"]

    def text() -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randrange(6)))

    def value(depth: int = 0):
        kind = rng.randrange(9 if depth < 4 else 6)
        if kind == 0:
            return text()
        if kind == 1:
            return None
        if kind == 2:
            return rng.choice([True, False])
        if kind == 3:
            return rng.randrange(-10**20, 10**20)
        if kind == 4:
            return rng.choice([0.1, -0.0, 1e300, 1.5e-7, float("nan"), float("inf"),
                               -float("inf"), 3.0])
        if kind == 5:
            return []
        if kind == 6:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 7:
            return {text(): value(depth + 1) for _ in range(rng.randrange(4))}
        return (value(depth + 1), {})

    for _ in range(5000):
        v = value()
        assert json_block(v) == json.dumps(v, ensure_ascii=False, indent=1)
    odd = {1: "a", "b": {2.5: [None]}}  # keys json.dumps turns into strings
    assert json_block(odd) == json.dumps(odd, ensure_ascii=False, indent=1)
