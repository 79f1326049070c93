"""The offline simulator over real HTTP with the real openai SDK: roles, flaws, faults, load."""

from __future__ import annotations

import itertools
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from csc.framework import normalise_label
from csc.language import detect
from csc.llm.gateway import REASK
from csc.llm.parsing import ParseError, parse_as
from csc.metrics.overlap import containment
from schemas.llm import OUTPUT_OF, ROLE_HEADER, ROLES, Annotation, RewrittenDialogue, Role
from simulator import SimConfig, SimulatorProcess, run_in_thread
from simulator import faults as fx
from simulator.__main__ import main as simulator_main
from simulator.inputs import read_input
from simulator.labeller import guess_strategy
from simulator.responders import RESPONDERS, respond, responds

DIALOGUE = {
    "zh": [("supporter", "您好，安和银行客服，请问有什么可以帮您？"),
           ("customer", "你好，我的信用卡昨天被扣了两次年费，这是怎么回事？"),
           ("supporter", "为了保障账户安全，请提供一下您的姓名和预留手机号。"),
           ("customer", "我叫[姓名]，手机号是[手机号码]。"),
           ("supporter", "我看到确实有两笔年费扣款，其中一笔是系统重复扣收。"),
           ("customer", "那多扣的钱什么时候能退回来？"),
           ("supporter", "按照规定，重复扣收的费用会在3到5个工作日内退回原卡。"),
           ("customer", "好的，谢谢，没有别的问题了。")],
    "en": [("supporter", "Hello, thanks for calling, how can I help?"),
           ("customer", "Hi, my card was charged the annual fee twice yesterday."),
           ("supporter", "Could you give me your full name and phone number to verify you?"),
           ("customer", "Sure, it's [NAME], [PHONE]."),
           ("supporter", "I can see two charges; one of them is a duplicate."),
           ("customer", "When do I get the extra money back?"),
           ("supporter", "According to our policy, duplicates are refunded in 3 to 5 days."),
           ("customer", "Great, thanks, that's all.")],
}
ROLEPLAY = {Role.PERSONA_DESCRIBER, Role.PLANNER, Role.SUPPORTER_ASSISTANT, Role.SUPPORTER,
            Role.CUSTOMER_ASSISTANT, Role.CUSTOMER}


def turns(lang: str, n: int | None = None, labelled: bool = False) -> list[dict]:
    out = []
    for i, (speaker, text) in enumerate(DIALOGUE[lang][:n]):
        turn = {"speaker": speaker, "text": text}
        if labelled and speaker == "supporter":
            turn["strategy"] = "策略1 礼貌问候" if i == 0 and lang == "zh" else (
                "Greeting" if i == 0 else "")
        out.append(turn)
    return out


def payload(role: Role, lang: str) -> dict:
    """A realistic input for `role`, shaped as schemas.llm.INPUT_OF says."""
    if role is Role.CANDIDATE:
        return {"language": lang, "history": turns(lang, 2, labelled=True)}
    if role in ROLEPLAY:
        return {"language": lang, "persona": "35岁的中学老师，性格急躁" if lang == "zh"
                else "a 35-year-old teacher, impatient", "topic": "账户与交易管理" if lang == "zh"
                else "account & transaction management", "goal": "查清扣款来源" if lang == "zh"
                else "find out where a charge came from",
                "strategy": "策略6 提供建议" if lang == "zh" else "Providing Suggestions",
                "direction": "", "history": turns(lang, 2, labelled=True)}
    return {"language": lang, "dialogue": turns(lang)}


def user_message(data: dict) -> list[dict]:
    block = json.dumps(data, ensure_ascii=False, indent=1)
    return [{"role": "system", "content": "You are a careful assistant."},
            {"role": "user", "content": f"Do the task.\n\n```json\n{block}\n```"}]


def ask(client: openai.OpenAI, role: Role, data: dict, **kw):
    return client.chat.completions.create(
        model=f"sim-{role.value}", messages=user_message(data),
        extra_headers={ROLE_HEADER: role.value}, **kw)


@pytest.fixture(scope="module")
def server():
    with run_in_thread(SimConfig(seed=11)) as running:
        yield running


@pytest.fixture
def sim(server):
    """The module's simulator, back to a fault-free config and zero counters after each test."""
    yield server
    server.configure(**SimConfig(seed=11).model_dump())
    server.reset()


@pytest.fixture
def client(sim):
    c = openai.OpenAI(base_url=sim.base_url, api_key="sim-key", max_retries=0, timeout=10)
    yield c
    c.close()


def test_models_are_sim_only_and_other_models_are_not_found(client):
    served = {m.id for m in client.models.list()}
    assert served == {f"sim-{r.value}" for r in Role} | {"sim-default"}
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                       extra_headers={ROLE_HEADER: "planner"})
    assert info.value.body["code"] == "model_not_found"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_role_answers_valid_and_deterministic_json(client, role, lang):
    first = ask(client, role, payload(role, lang)).choices[0].message.content
    again = ask(client, role, payload(role, lang)).choices[0].message.content
    assert first == again
    value = parse_as(first, OUTPUT_OF[role])
    if role is Role.ANNOTATOR:  # a label per supporter turn, by input position
        assert [lab.index for lab in value.labels] == [0, 2, 4, 6]
        assert all(normalise_label(lab.strategy).ok for lab in value.labels)
    if role in (Role.CANDIDATE, Role.SUPPORTER_ASSISTANT):
        assert normalise_label(value.strategy).id == 2  # verify right after the greeting
        assert value.strategy.startswith("策略") == (lang == "zh")


def test_role_comes_from_the_model_name_and_unknown_roles_get_text(client):
    data = payload(Role.PREFILTER_JUDGE, "en")
    resp = client.chat.completions.create(model="sim-prefilter_judge",
                                          messages=user_message(data))
    assert parse_as(resp.choices[0].message.content, OUTPUT_OF[Role.PREFILTER_JUDGE])
    text = client.chat.completions.create(model="sim-default", messages=user_message(data))
    assert "simulator" in text.choices[0].message.content and text.usage.total_tokens > 0


def test_prefilter_flags_abuse_and_cold_agents(client):
    rude = {"language": "zh", "dialogue": [{"speaker": "customer", "text": "卡被锁了"},
                                           {"speaker": "supporter", "text": "爱买不买，不归我管"}]}
    content = ask(client, Role.PREFILTER_JUDGE, rude).choices[0].message.content
    verdict = parse_as(content, OUTPUT_OF[Role.PREFILTER_JUDGE])
    # the §3.3 answer shape, nothing more
    assert verdict.low_quality and verdict.model_dump(exclude_unset=True) == {"low_quality": True}


def synthetic_dialogue(k: int) -> dict:
    rng = random.Random(k)
    lang = "zh" if k % 2 else "en"
    pool = DIALOGUE[lang]
    speaker = rng.choice(["customer", "supporter"])
    out = []
    for _ in range(rng.randint(2, 26)):
        text = rng.choice([t for s, t in pool if s == speaker])
        out.append({"speaker": speaker, "text": f"{text} ({k})" if lang == "en" else text + str(k)})
        speaker = "supporter" if speaker == "customer" else "customer"
    return {"language": lang, "dialogue": out}


def flaws(rows: list) -> set[str]:
    found = set()
    if rows[-1].text.startswith(("（", "(")):
        found.add("system_note")
    labels = [normalise_label(t.strategy) for t in rows if t.strategy]
    assert all(lab.ok or lab.multi for lab in labels), [lab.error for lab in labels]
    if any(lab.multi for lab in labels):
        found.add("multi_strategy")
    if {1, 2, 11} - {lab.id for lab in labels}:  # post-filter step (e)
        found.add("missing_required")
    if any(a.speaker == b.speaker for a, b in itertools.pairwise(rows)):
        found.add("broken_alternation")
    if len(rows) < 10:
        found.add("too_short")
    return found


def test_rewrites_exercise_every_postfilter_step(client):
    counts: dict[str, int] = {}
    for k in range(200):
        resp = ask(client, Role.REWRITER, synthetic_dialogue(k))
        message = resp.choices[0].message
        assert (message.model_extra or {}).get("reasoning_content")  # a reasoning model
        rows = parse_as(message.content, RewrittenDialogue).root
        assert len(rows) <= 31
        for kind in flaws(rows) or {"clean"}:
            counts[kind] = counts.get(kind, 0) + 1
    assert set(counts) == {"clean", "system_note", "multi_strategy", "missing_required",
                           "broken_alternation", "too_short"}
    # 65% draw no flaw and 7% of those end without a closure (simulator.rewrite): ~60%
    assert counts["clean"] > 110


def test_rate_429_answers_with_retry_after(sim, client):
    sim.configure(rate_429=1.0, retry_after_s=0.2)
    with pytest.raises(openai.RateLimitError) as info:
        ask(client, Role.PLANNER, payload(Role.PLANNER, "zh"))
    assert info.value.response.headers["retry-after"] == "0.2"
    assert sim.stats()["by_status"] == {"429": 1}


def test_rate_500_is_a_server_error(sim, client):
    sim.configure(rate_500=1.0)
    with pytest.raises(openai.InternalServerError):
        ask(client, Role.PLANNER, payload(Role.PLANNER, "en"))


def test_hangs_time_the_client_out(sim, client):
    sim.configure(rate_hang=1.0, hang_s=2.0)
    with pytest.raises(openai.APITimeoutError):
        ask(client, Role.PLANNER, payload(Role.PLANNER, "en"), timeout=0.5)


def test_malformed_answers_do_not_parse_and_fenced_ones_do(sim, client):
    sim.configure(rate_malformed=1.0)
    for role in (Role.PREFILTER_JUDGE, Role.ANNOTATOR, Role.REWRITER, Role.CANDIDATE):
        content = ask(client, role, payload(role, "zh")).choices[0].message.content
        with pytest.raises(ParseError):
            parse_as(content, OUTPUT_OF[role])
    sim.configure(rate_malformed=0.0, rate_fenced=1.0)
    for role in (Role.ANNOTATOR, Role.REWRITER, Role.DIALOGUE_JUDGE):
        content = ask(client, role, payload(role, "en")).choices[0].message.content
        assert content.count("```") == 2 and "//" in content
        parse_as(content, OUTPUT_OF[role])


def test_reasoning_comes_as_a_field_or_a_think_block(sim, client):
    sim.configure(rate_reasoning=1.0)
    kinds = set()
    for i in range(16):
        data = payload(Role.CUSTOMER_ASSISTANT, "zh") | {"goal": f"目标{i}"}
        resp = ask(client, Role.CUSTOMER_ASSISTANT, data)
        message = resp.choices[0].message
        if (message.model_extra or {}).get("reasoning_content"):
            kinds.add("field")
        if message.content.startswith("<think>"):
            kinds.add("think")
        assert resp.usage.completion_tokens_details.reasoning_tokens > 0
        parse_as(message.content, OUTPUT_OF[Role.CUSTOMER_ASSISTANT])
    assert kinds == {"field", "think"}


def test_multi_strategy_fault_makes_a_multi_label(sim, client):
    sim.configure(rate_multi_strategy=1.0)
    content = ask(client, Role.ANNOTATOR, payload(Role.ANNOTATOR, "en")).choices[0].message
    labels = parse_as(content.content, Annotation).labels
    assert sum(normalise_label(lab.strategy).multi for lab in labels) == 1


def test_stats_show_concurrent_requests(sim):
    # The clients exist before the clock matters and the 20 requests leave together (a
    # barrier); each is held 1 s by the server, which must hold them side by side. Sending one
    # costs a few ms of CPU, so even a loaded machine gets 10 of them in within that second; a
    # server that handled one request at a time would show 1.
    sim.configure(latency_ms=1000)
    clients = [openai.OpenAI(base_url=sim.base_url, api_key="sim-key", max_retries=0,
                             timeout=60) for _ in range(20)]
    start = threading.Barrier(20)

    def one(i: int) -> int:
        data = payload(Role.PLANNER, "en") | {"topic": f"topic {i}"}
        start.wait(timeout=60)
        return len(ask(clients[i], Role.PLANNER, data).choices[0].message.content)

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            assert all(list(pool.map(one, range(20))))
    finally:
        for c in clients:
            c.close()
    stats = sim.stats()
    assert stats["requests"] == 20 and stats["in_flight"] == 0
    assert stats["max_in_flight"] >= 10 and stats["by_role"] == {"planner": 20}


@pytest.mark.parametrize("role", [Role.REWRITER, Role.POSTFILTER_JUDGE], ids=lambda r: r.value)
def test_a_reask_is_answered_for_the_conversations_dialogue(client, role):
    """A model re-asked after an unusable answer still sees the conversation: its new answer
    is about the same dialogue, in its language (what the gateway's re-ask relies on)."""
    reask = [*user_message(payload(role, "zh")), {"role": "assistant", "content": '{"'},
             {"role": "user", "content": REASK.format(error="not JSON")}]
    resp = client.chat.completions.create(model=f"sim-{role.value}", messages=reask,
                                          extra_headers={ROLE_HEADER: role.value})
    value = parse_as(resp.choices[0].message.content, OUTPUT_OF[role])
    if role is Role.REWRITER:
        said = [t.text for t in value.root]
        customer = [text for speaker, text in DIALOGUE["zh"] if speaker == "customer"]
        assert containment(customer, said, n=3) == 1.0  # the customer's words are kept
    else:
        said = [value.reason]
    assert detect("\n".join(said)) == "zh"


def test_control_endpoints_reject_bad_input(sim):
    with pytest.raises(ValueError, match="rate_429"):
        sim.configure(rate_429=2.0)
    with pytest.raises(ValueError, match="no_such_knob"):
        sim.configure(no_such_knob=1)
    resp = httpx.post(f"{sim.base_url}/chat/completions", json={
        "model": "sim-planner", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{sim.root}/health").json() == {"ok": True}


def test_config_from_env_and_fault_rate_helper():
    env = {"CSC_SIM_SEED": "5", "CSC_SIM_FAULT_RATE": "0.1", "CSC_SIM_RATE_500": "0.3",
           "CSC_SIM_RETRY_AFTER_S": "0.2"}
    config = SimConfig.from_env(env)
    assert (config.seed, config.rate_429, config.rate_500, config.rate_hang) == (5, 0.1, 0.3, 0)
    assert config.retry_after_s == 0.2
    assert SimConfig().with_fault_rate(0.2).rate_multi_strategy == 0.2


def test_guess_strategy_keywords():
    assert guess_strategy("您好，很高兴为您服务", 0, 5, "zh") == 1
    assert guess_strategy("请提供您的姓名和手机号", 1, 5, "zh") == 2
    assert guess_strategy("So you mean the card was locked?", 2, 5, "en") == 3
    assert guess_strategy("I'm so sorry for the trouble", 2, 5, "en") == 5
    assert guess_strategy("按照规定需要收取手续费", 2, 5, "zh") == 7
    assert guess_strategy("Is there anything else I can help with?", 3, 5, "en") == 9
    assert guess_strategy("感谢您的来电，再见", 4, 5, "zh") == 11


def test_cli_refuses_non_loopback_hosts(capsys):
    assert simulator_main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_simulator_process_starts_answers_and_stops():
    with SimulatorProcess(SimConfig(seed=2)) as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        with openai.OpenAI(base_url=sim.base_url, api_key="sim-key", max_retries=0) as c:
            content = ask(c, Role.DIALOGUE_JUDGE, payload(Role.DIALOGUE_JUDGE, "zh"))
        parse_as(content.choices[0].message.content, OUTPUT_OF[Role.DIALOGUE_JUDGE])
        assert sim.stats()["requests"] == 1
        proc = sim.proc
    assert proc is not None and proc.poll() is not None


# ---- the role table drives the responders -------------------------------------------------

def test_every_role_of_the_role_table_has_one_responder():
    # A role added to schemas.llm.ROLES fails here until simulator/responders.py has a
    # function for it under @responds(Role.X); nothing else in the simulator needs to change.
    missing = sorted(r.value for r in ROLES if r not in RESPONDERS)
    assert missing == [], f"give these roles a responder (@responds(Role.X)): {missing}"
    assert set(RESPONDERS) == set(ROLES)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", list(ROLES), ids=str)
def test_each_responder_answers_its_roles_answer_type(role, lang):
    answer = respond(role, read_input(role, payload(role, lang)), random.Random(0), 0)
    assert isinstance(answer.value, ROLES[role].answer)


def test_a_role_has_one_responder_only():
    before = dict(RESPONDERS)
    with pytest.raises(ValueError, match="two responders"):
        responds(Role.ANNOTATOR)(lambda inp, rng: None)
    assert before == RESPONDERS


def test_the_multi_strategy_fault_goes_to_the_roles_whose_answers_carry_turn_labels():
    # derived from the answer types in ROLES, not listed by name
    assert {"rewriter", "annotator", "candidate"} == fx.MULTI_ROLES
