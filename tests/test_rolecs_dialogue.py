"""The RoleCS loop (csc-method §4) through `simulate()` with a scripted gateway (no HTTP): the
stop rules, the rules enforced in code, and how a dialogue becomes rows."""

from __future__ import annotations

import asyncio

import polars as pl
import pytest
from stub_gateway import StubGateway

from csc.llm.gateway import LLMFailure
from csc.rolecs.dialogue import LoopRules, Scenario, near_identical, simulate
from csc.rolecs.stage import dialogue_rows
from schemas.llm import (
    CustomerDirection,
    CustomerReply,
    DialogueJudgement,
    PersonaDescription,
    Plan,
    Role,
    StrategyChoice,
    SupporterReply,
)
from schemas.rolecs import RolecsDialogue, RolecsUtterance

SCENARIO = Scenario("0123456789abcdef", "en", "p-1", "product inquiry", '{"age": 40}')
PASS = DialogueJudgement(strategy_adherence=True, unreasonable_requests=True, natural=True,
                         varied=True, role_consistent=True)


WORDS = ("apple", "river", "quartz", "meadow", "lantern", "copper", "violet", "harbor",
         "cinder", "maple", "orbit", "pepper", "saddle", "tundra", "willow", "zephyr")


def distinct(i: int) -> str:
    """A sentence unlike every other `distinct(j)`, so no turn looks like a loop."""
    return " ".join(WORDS[(i * k + k) % len(WORDS)] for k in (1, 3, 5, 7)) + f" #{i}"


def numbered_replies(prefix: str):
    n = iter(range(1000))
    return lambda payload: SupporterReply(text=f"{prefix}: {distinct(next(n))}")


def customer(finish_at: int | None = None):
    """The customer; says it is finished on its `finish_at`-th turn (1-based)."""
    n = iter(range(1, 1000))

    def reply(payload):
        i = next(n)
        return CustomerReply(text=distinct(100 + i)[::-1],
                             finished=finish_at is not None and i >= finish_at)
    return reply


def gateway(strategies: list, *, finish_at: int | None = None,
            judge: DialogueJudgement = PASS, supporter=None) -> StubGateway:
    return StubGateway({
        Role.PERSONA_DESCRIBER: PersonaDescription(description="You are a careful saver."),
        Role.PLANNER: Plan(scenario="asks about a savings product", goal="pick a product"),
        Role.SUPPORTER_ASSISTANT: [StrategyChoice(strategy=s, reason=f"why {i}")
                                   for i, s in enumerate(strategies)],
        Role.SUPPORTER: supporter or numbered_replies("agent"),
        Role.CUSTOMER_ASSISTANT: CustomerDirection(direction="keep asking"),
        Role.CUSTOMER: customer(finish_at),
        Role.DIALOGUE_JUDGE: judge,
    })


def run(gw: StubGateway, rules: LoopRules | None = None):
    return asyncio.run(simulate(gw, SCENARIO, rules or LoopRules()))


def supporter_ids(out) -> list[int]:
    return [t.strategy_id for t in out.turns if t.speaker == "supporter"]


def test_the_opening_is_a_greeting_and_closure_ends_the_dialogue():
    gw = gateway(["Identity Verification", "Appreciation and Closure"])
    out = run(gw)
    assert supporter_ids(out) == [1, 2, 11]
    assert [t.speaker for t in out.turns] == ["supporter", "customer"] * 2 + ["supporter"]
    # the opening is not asked of the assistant: two asks for three supporter turns
    assert gw.roles_asked().count(Role.SUPPORTER_ASSISTANT) == 2
    first_supporter_ask = next(a for a in gw.asked if a.role is Role.SUPPORTER)
    assert first_supporter_ask.payload.strategy == "Greeting"
    assert out.stop_reason == "closure" and out.status == "kept"
    assert gw.roles_asked()[-1] is Role.DIALOGUE_JUDGE
    assert out.turns[2].reasoning == "why 0"  # the assistant's reason rides with the turn


def test_a_finished_customer_gets_one_last_supporter_turn():
    gw = gateway(["Identity Verification", "Problem Refinement"], finish_at=2)
    out = run(gw)
    # S C S C(finished) S: the supporter answers the finished customer once, then it stops
    assert [t.speaker for t in out.turns] == ["supporter", "customer"] * 2 + ["supporter"]
    assert out.stop_reason == "customer_finished"
    assert gw.roles_asked().count(Role.CUSTOMER) == 2


def test_the_length_cap_stops_a_dialogue_that_never_ends():
    gw = gateway(["Identity Verification", "Problem Refinement", "Information Delivery"] * 5)
    out = run(gw, LoopRules(max_utterances=6))
    assert len(out.turns) == 6 and out.stop_reason == "max_utterances"
    assert out.turns[-1].speaker == "customer"
    out = run(gateway(["Identity Verification", "Problem Refinement"] * 5),
              LoopRules(max_utterances=5))
    assert len(out.turns) == 5 and out.turns[-1].speaker == "supporter"


def test_a_third_repeat_is_asked_again_with_the_strategy_to_avoid():
    gw = gateway(["Problem Refinement", "Problem Refinement", "Problem Refinement",
                  "Information Delivery", "Appreciation and Closure"])
    out = run(gw)
    assert supporter_ids(out) == [1, 4, 4, 7, 11]
    assert out.stop_reason == "closure"
    avoided = [a.payload.avoid for a in gw.asked if a.role is Role.SUPPORTER_ASSISTANT]
    assert avoided == [[], [], [], ["Problem Refinement"], []]
    assert out.notes and "PR a third time" in out.notes[0]


def test_a_repeat_that_comes_back_stops_the_dialogue_unjudged():
    gw = gateway(["Greeting", "Greeting", "Greeting"])
    out = run(gw)
    # Greeting (forced), Greeting, then Greeting again, and again when asked to avoid it
    assert supporter_ids(out) == [1, 1]
    assert out.stop_reason == "strategy_repeated" and out.status == "rejected"
    assert out.judgement is None and Role.DIALOGUE_JUDGE not in gw.roles_asked()


def test_two_in_a_row_is_allowed():
    out = run(gateway(["Problem Refinement", "Problem Refinement", "Appreciation and Closure"]))
    assert supporter_ids(out) == [1, 4, 4, 11] and out.stop_reason == "closure"


def test_a_label_no_strategy_matches_becomes_others():
    out = run(gateway(["Reassure the customer", "策略6+策略7", "Appreciation and Closure"]))
    assert supporter_ids(out) == [1, 12, 12, 11]


def test_a_supporter_repeating_itself_is_stopped_as_a_loop():
    same = lambda payload: SupporterReply(text="Let me check that for you.")  # noqa: E731
    out = run(gateway(["Identity Verification", "Problem Refinement"], supporter=same))
    assert out.stop_reason == "loop" and len(out.turns) == 3
    assert out.status == "rejected" and out.judgement is None


def test_near_identical_is_a_similarity_bound():
    assert near_identical("Let me check.", "Let  me check.", 0.99)  # spaces do not count
    assert near_identical("abcdefghij", "abcdefghiX", 0.9)  # ratio exactly 0.9
    assert not near_identical("abcdefghij", "abcdefghXY", 0.9)  # 0.8
    assert not near_identical("你好，请问有什么可以帮您", "好的，我马上为您查询", 0.9)


def test_a_failed_judge_rejects_but_keeps_the_dialogue():
    fail = PASS.model_copy(update={"varied": False, "reason": "same phrasing"})
    out = run(gateway(["Identity Verification", "Appreciation and Closure"], judge=fail))
    assert out.status == "rejected" and out.stop_reason == "closure"
    rows = dialogue_rows(out, "v1", "run-1")
    assert rows["rolecs.dialogues"][0]["status"] == "rejected"
    assert rows["rolecs.judgements"][0]["varied_expression"] is False
    assert rows["rolecs.judgements"][0]["passed"] is False


def test_a_failed_call_abandons_the_dialogue():
    gw = gateway(["Identity Verification"])
    gw.replies[Role.CUSTOMER_ASSISTANT] = LLMFailure("", "HTTP 500 after 3 attempts", "dead")
    out = run(gw)
    assert out.status == "dead" and "500" in out.error
    assert Role.DIALOGUE_JUDGE not in gw.roles_asked()


def test_rows_of_an_accepted_dialogue_meet_the_contracts():
    out = run(gateway(["Identity Verification", "Appreciation and Closure"]))
    rows = dialogue_rows(out, "v1", "run-1")
    d = rows["rolecs.dialogues"][0]
    assert (d["status"], d["n_utterances"], d["n_supporter"], d["judge_passed"]) == \
        ("accepted", 5, 3, True)
    assert [u["utt_index"] for u in rows["rolecs.utterances"]] == [0, 1, 2, 3, 4]
    assert [u["stage"] for u in rows["rolecs.utterances"] if u["speaker"] == "supporter"] == \
        ["connecting", "connecting", "maintaining"]
    assert rows["rolecs.utterances"][1]["direction"] == "keep asking"
    RolecsDialogue.validate(pl.DataFrame(rows["rolecs.dialogues"]))
    RolecsUtterance.validate(pl.DataFrame(rows["rolecs.utterances"]))
    s = rows["rolecs.scenarios"][0]
    assert (s["scenario"], s["goal"]) == ("asks about a savings product", "pick a product")


def test_the_utterance_contract_refuses_a_supporter_turn_without_a_strategy():
    out = run(gateway(["Identity Verification", "Appreciation and Closure"]))
    rows = dialogue_rows(out, "v1", "run-1")["rolecs.utterances"]
    rows[0]["strategy_id"] = None
    with pytest.raises(Exception, match="supporter_turns_carry_a_strategy"):
        RolecsUtterance.validate(pl.DataFrame(rows, infer_schema_length=None))
