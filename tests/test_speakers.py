"""Issue 11 A4: one table of speaker names, shared by ingest source configs and the rewrite.

A name a model writes for the agent or the customer is mapped through csc.speakers; an unknown
one fails the answer type, so the gateway re-asks naming the allowed values, and only a
rewrite whose speakers stay unknown after the re-asks is rejected (step 'speaker').
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import openai
import pytest

from csc.csconv.postfilter import PostfilterConfig
from csc.csconv.stage import Outcome, SourceDialogue, process_dialogue
from csc.ingest.sources import SourceError, Speakers, load_source
from csc.llm.gateway import LLMGateway
from csc.llm.journal import Journal
from csc.llm.parsing import ParseError, parse_as
from csc.llm.settings import LLMSettings, RoleSettings
from csc.speakers import SHARED, SpeakerTable, fold, role_of, shared_table
from schemas.llm import ROLE_HEADER, RewrittenDialogue, RewrittenTurn, Role

# -- a scripted endpoint, shared with tests/test_rewrite_pii.py and tests/test_faithfulness.py --

HIGH = '{"quality": "high", "reason": "ok"}'
CLEAN = '{"low_quality": false}'


class Scripted:
    """An OpenAI-compatible endpoint (httpx.MockTransport under the real SDK) answering each
    role from its script: a list is answered in order, its last answer repeated."""

    def __init__(self, rewriter: list[str], judge: str = HIGH, prefilter: str = CLEAN) -> None:
        self.scripts = {Role.REWRITER.value: list(rewriter), Role.POSTFILTER_JUDGE.value: [judge],
                        Role.PREFILTER_JUDGE.value: [prefilter]}
        self.requests: list[tuple[str, list[dict]]] = []  # (role, messages) of every call

    def __call__(self, request: httpx.Request) -> httpx.Response:
        role = request.headers[ROLE_HEADER]
        body = json.loads(request.content)
        self.requests.append((role, body["messages"]))
        script = self.scripts[role]
        content = script.pop(0) if len(script) > 1 else script[0]
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

    def calls(self, role: Role) -> list[list[dict]]:
        return [m for r, m in self.requests if r == role.value]


def run_stage(tmp_path: Path, endpoint: Scripted, source: SourceDialogue,
              cfg: PostfilterConfig = PostfilterConfig()) -> Outcome:
    """One dialogue through csc.csconv.stage.process_dialogue against `endpoint`."""
    url = "http://scripted.test/v1"
    settings = LLMSettings(base_url=url, api_key="k", concurrency=2, backoff_base=0.01,
                           backoff_cap=0.02, roles={
                               r: RoleSettings(model=f"m-{r.value}", temperature=0.0,
                                               max_tokens=None, timeout=5.0) for r in Role})

    async def go() -> Outcome:
        client = openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0,
                                    http_client=httpx.AsyncClient(
                                        transport=httpx.MockTransport(endpoint)))
        journal = Journal(tmp_path / "cache.sqlite")
        gw = LLMGateway(settings, journal, run_id="r", stage="csconv", use_cache=False,
                        client=client)
        try:
            return await process_dialogue(gw, source, cfg)
        finally:
            await gw.aclose()
            journal.close()
    return asyncio.run(go())


def answer(turns: list[tuple[str, str, str]]) -> str:
    """A rewriter answer: (speaker, strategy, text) turns as the JSON list the prompt asks."""
    return json.dumps([{"speaker": s, "strategy": g, "text": t} for s, g, t in turns],
                      ensure_ascii=False)


SOURCE_ZH = SourceDialogue("d1", "zh", None, [
    ("customer", "你好，我的信用卡昨天在商场刷不了，提示交易失败"),
    ("supporter", "您好，请问您的卡号是多少"),
    ("customer", "卡号是[银行卡号]"),
    ("supporter", "查到您的卡因为异地大额消费被风控冻结了"),
    ("customer", "那怎么解冻呢？我急着付款"),
    ("supporter", "我这边帮您提交解冻申请，大概十分钟生效"),
    ("customer", "好的，谢谢"),
])


def rewrite_zh(sup: str = "客服", cus: str = "客户") -> list[tuple[str, str, str]]:
    """A faithful 12-utterance rewrite of SOURCE_ZH: the customer's words kept, the supporter
    restyled, Greeting, Identity Verification and Closure present."""
    return [
        (sup, "策略1 礼貌问候", "您好，很高兴为您服务，请问有什么可以帮您？"),
        (cus, "", "你好，我的信用卡昨天在商场刷不了，提示交易失败"),
        (sup, "策略2 确认身份", "为了核实身份，请提供一下您的卡号"),
        (cus, "", "卡号是[银行卡号]"),
        (sup, "策略3 重述或转述", "您是说信用卡在商场消费时交易失败，对吗？"),
        (cus, "", "对，昨天在商场刷不了"),
        (sup, "策略7 信息传达", "查询到您的卡因为异地大额消费触发风控，被临时冻结了"),
        (cus, "", "那怎么解冻呢？我急着付款"),
        (sup, "策略8 解决实施", "已经为您提交解冻申请，大约十分钟后生效"),
        (cus, "", "好的，谢谢"),
        (sup, "策略11 感谢与告别", "感谢您的来电，祝您生活愉快，再见"),
        (cus, "", "再见"),
    ]


# -- the table ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "role"), [
    ("客服", "supporter"), ("客服人员", "supporter"), ("坐席", "supporter"),
    ("Customer Service", "supporter"), ("Agent", "supporter"), ("  agent  ", "supporter"),
    ("ＡＧＥＮＴ", "supporter"),  # full-width letters
    ("customer_service", "supporter"), ("Customer-Service", "supporter"),
    ("customer  service", "supporter"), ("**客服**", "supporter"), ("客服：", "supporter"),
    ("[Agent]", "supporter"), ("HelpDesk", "supporter"),
    ("顾客", "customer"), ("用户", "customer"), ("客户", "customer"), ("Customer", "customer"),
    ("USER", "customer"), ("Ｕｓｅｒ", "customer"), ("client", "customer"),
])
def test_synonyms_map_to_their_role_whatever_the_case_spacing_or_width(name, role):
    assert role_of(name) == role


@pytest.mark.parametrize("name", ["机器人", "bot", "system", "路人", "", "   ", "**", "客", "custom"])
def test_names_that_are_not_a_customer_or_an_agent_stay_unknown(name):
    assert role_of(name) is None


def test_no_name_of_the_shared_table_is_both_roles():
    customer = {fold(n) for n in SHARED["customer"]}
    supporter = {fold(n) for n in SHARED["supporter"]}
    assert customer and supporter and not customer & supporter
    # 'customer service' is the agent even though it starts with 'customer'
    assert role_of("customer service") == "supporter" and role_of("customer") == "customer"


def test_a_table_refuses_one_name_for_two_roles_and_an_empty_name():
    with pytest.raises(ValueError, match="both customer and supporter"):
        SpeakerTable([("customer", ["Agent"]), ("supporter", ["agent"])])
    with pytest.raises(ValueError, match="empty"):
        SpeakerTable([("customer", ["  "])])


def test_a_callers_own_names_add_to_the_shared_table_and_win_over_it():
    table = shared_table({"supporter": ["tier1"], "skip": ["assistant"]})
    assert table.get("TIER1") == "supporter"
    assert table.get("Assistant") == "skip"  # the shared table says supporter
    assert table.get("坐席") == "supporter" and table.get("顾客") == "customer"
    assert "assistant" in table and table["assistant"] == "skip"
    with pytest.raises(ValueError, match="both"):
        shared_table({"customer": ["x"], "supporter": ["X"]})


# -- ingest configs ---------------------------------------------------------------------------


def test_a_config_without_shared_knows_only_its_own_names_folded():
    table = Speakers(customer=["c"], supporter=["Agent 1"]).lookup()
    assert table.get("Ｃ") == "customer" and table.get("agent  1") == "supporter"
    assert table.get("客服") is None and "customer" not in table
    assert sorted(table) == ["agent 1", "c"]  # as listed in messages: trimmed, lower case


def test_a_config_must_name_both_roles_unless_it_uses_the_shared_table():
    with pytest.raises(ValueError, match="one customer and one supporter"):
        Speakers(customer=["c"])
    assert Speakers(shared=True).lookup().get("坐席") == "supporter"


def test_a_config_file_giving_one_name_two_roles_is_refused_with_its_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nformat: jsonl\nspeakers: {customer: [a], supporter: [A]}\n",
                   encoding="utf-8")
    with pytest.raises(SourceError, match=r"bad\.yaml.*both customer and supporter"):
        load_source(str(bad))


@pytest.mark.parametrize("source", ["csv", "csv_transcript", "json", "jsonl", "lines"])
def test_the_generic_builtin_sources_read_the_shared_table(source):
    table = load_source(source).speakers.lookup()
    for name in ("客服人员", "Customer Service", "坐席", "顾客", "caller", "staff"):
        assert table.get(name) == role_of(name), name


def test_the_lines_source_reads_a_synonym_prefix_as_a_new_turn(tmp_path, warehouse):
    from helpers import ingest, query_all

    f = tmp_path / "calls.txt"
    f.write_text("顾客：你好，我的信用卡被锁了，能帮我看看吗\n"
                 "客服人员：您好，请提供一下您的姓名\n"
                 "顾客：我叫王芳，卡是上周办的\n"
                 "Customer Service: 好的，已经为您解锁了\n"
                 "顾客：谢谢，再见了\n"
                 "坐席：不客气，祝您生活愉快\n", encoding="utf-8")
    ingest(f, warehouse, source="lines")
    rows = query_all(warehouse, "SELECT speaker FROM raw.utterances ORDER BY utt_index")
    assert [r[0] for r in rows] == ["customer", "supporter"] * 3


# -- the rewrite's answer type ------------------------------------------------------------------


def test_a_rewritten_turn_keeps_the_models_spelling_and_knows_the_role():
    turn = RewrittenTurn(speaker="Customer Service", text="hi")
    assert (turn.speaker, turn.role) == ("Customer Service", "supporter")
    assert RewrittenTurn(speaker="顾客", text="嗯").role == "customer"


def test_an_unknown_speaker_fails_the_answer_naming_what_to_write():
    raw = answer([("客服", "GT", "您好"), ("机器人", "", "转人工中")])
    with pytest.raises(ParseError) as caught:
        parse_as(raw, RewrittenDialogue)
    message = str(caught.value)
    assert "1.speaker" in message and "unknown speaker '机器人'" in message
    for allowed in ("客服", "supporter", "客户", "customer"):
        assert allowed in message.split("unknown speaker", 1)[1]


def test_the_unknown_name_is_quoted_to_twenty_characters():
    with pytest.raises(ValueError, match="unknown speaker 'abcdefghijklmnopqrst':"):
        RewrittenTurn(speaker="abcdefghijklmnopqrstuvwxyz", text="x")


# -- the stage: re-asked, then rejected ----------------------------------------------------------


def test_synonyms_in_a_rewrite_are_kept_as_their_role(tmp_path):
    endpoint = Scripted([answer(rewrite_zh(sup="客服人员", cus="Customer"))])
    o = run_stage(tmp_path, endpoint, SOURCE_ZH)
    assert o.status == "kept", o.reason
    assert [t.speaker for t in o.rules.turns] == ["supporter", "customer"] * 6
    assert len(endpoint.calls(Role.REWRITER)) == 1


def test_an_unknown_speaker_is_re_asked_and_a_corrected_answer_is_kept(tmp_path):
    bad = rewrite_zh()
    bad[4] = ("机器人", "策略3 重述或转述", bad[4][2])
    endpoint = Scripted([answer(bad), answer(rewrite_zh())])
    o = run_stage(tmp_path, endpoint, SOURCE_ZH)
    assert o.status == "kept", o.reason
    calls = endpoint.calls(Role.REWRITER)
    assert len(calls) == 2
    reask = calls[1][-1]["content"]  # the last user message of the second call
    assert "unknown speaker '机器人'" in reask and "客服" in reask and "客户" in reask


def test_a_speaker_still_unknown_after_the_re_asks_rejects_the_dialogue(tmp_path):
    bad = rewrite_zh()
    bad[1] = ("路人", "", bad[1][2])
    endpoint = Scripted([answer(bad)])
    o = run_stage(tmp_path, endpoint, SOURCE_ZH)
    # 1 answer + the default 2 re-asks; rejected (not dead-lettered: no retry next run)
    assert len(endpoint.calls(Role.REWRITER)) == 3
    assert (o.status, o.step) == ("rejected", "speaker")
    assert "unknown speaker '路人'" in o.reason
    assert endpoint.calls(Role.POSTFILTER_JUDGE) == []
