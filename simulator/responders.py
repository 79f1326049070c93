"""One pure function per role: (validated input, rng) -> a schema-valid answer.

Answers are heuristics and templates, deterministic for a given rng state; nothing here is a
model. Each role of schemas.llm.ROLES has exactly one responder, registered with
`@responds(Role.X)` in RESPONDERS (tests/test_simulator.py holds every role to that); a new
role needs its responder function and nothing else here. `respond` is the single entry point
the server uses.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from csc.csconv.postfilter import has_system_note
from csc.framework import CLOSURE, normalise_label, strategy_label
from schemas.llm import (
    Annotation,
    CandidateInput,
    CandidatePrediction,
    CustomerDirection,
    CustomerReply,
    DialogueInput,
    DialogueJudgement,
    InputTurn,
    PairwiseInput,
    PairwiseVerdict,
    PersonaDescription,
    Plan,
    PostfilterVerdict,
    PrefilterVerdict,
    Role,
    RolePlayInput,
    StrategyChoice,
    SupporterReply,
    TurnJudgeInput,
    TurnJudgement,
    TurnLabel,
)
from simulator import labeller as lb
from simulator.inputs import Unreadable
from simulator.labeller import guess_strategy
from simulator.rewrite import customer_words, rewrite
from simulator.templates import CUSTOMER, SUPPORTER, TONES, TOPICS, UNREASONABLE_NOTE

__all__ = ["RESPONDERS", "Answer", "guess_strategy", "respond", "responds"]

_ABUSE = re.compile(r"傻逼|傻B|妈的|他妈|滚蛋|去死|混蛋|白痴|废物|神经病|脑子有病|垃圾客服|蠢货|"
                    r"\b(?:idiot|stupid|moron|shut up|damn|fuck\w*|shit|bastard|dumb|crap|"
                    r"screw you)\b", re.I)
_COLD = re.compile(r"爱买不买|不归我管|关我什么事|随便你|你自己看着办|听不懂吗|自己去查|别烦我|"
                   r"\b(?:not my problem|whatever|deal with it|i don't care|not my job|"
                   r"figure it out yourself|stop bothering me)\b", re.I)
CLOSE_AFTER_TURNS = 16  # the supporter assistant closes a conversation this long


@dataclass(frozen=True)
class Answer:
    value: BaseModel | str  # a schema object for JSON roles, text otherwise
    reasoning: str | None = None


@dataclass(frozen=True)
class Responder:
    """A role's responder: `fn(input, rng)`, or `fn(input, rng, seed)` when `seeded`, answering
    the role's answer type (schemas.llm.ROLES) or an Answer that carries reasoning too."""

    fn: Callable[..., Any]
    seeded: bool = False

    def __call__(self, inp: BaseModel, rng: random.Random, seed: int) -> Answer:
        out = self.fn(inp, rng, seed) if self.seeded else self.fn(inp, rng)
        return out if isinstance(out, Answer) else Answer(out)


RESPONDERS: dict[Role, Responder] = {}


def responds(role: Role, *, seeded: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as `role`'s one responder (the function is unchanged)."""

    def register(fn: Callable) -> Callable:
        if role in RESPONDERS:
            raise ValueError(f"two responders for the {role} role")
        RESPONDERS[role] = Responder(fn, seeded)
        return fn

    return register


def _zh(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


# ---- CSConv roles ------------------------------------------------------------------------

@responds(Role.PREFILTER_JUDGE)
def prefilter_judge(inp: DialogueInput, rng: random.Random) -> PrefilterVerdict:
    """The two §3.3 criteria: abusive language from anyone, or a cold, disrespectful agent.
    Answers the prompt's shape, `{"low_quality": bool}`, and nothing more."""
    del rng
    for turn in inp.dialogue:
        if _ABUSE.search(turn.text):
            return PrefilterVerdict(low_quality=True)
        if turn.speaker == "supporter" and _COLD.search(turn.text):
            return PrefilterVerdict(low_quality=True)
    return PrefilterVerdict(low_quality=False)


_JUDGE_LOW = (  # one reason per §3.5(b) criterion, for the draws that fail one
    ("对话在结尾显得仓促，没有真正结束。", "The conversation stops before it is finished."),
    ("个别客服回复与所标注的策略不符。", "Some agent replies do not follow their strategy."),
    ("对话中夹杂了与客服无关的第三方插话。", "A third party's words are mixed in."),
)


@responds(Role.POSTFILTER_JUDGE)
def postfilter_judge(inp: DialogueInput, rng: random.Random) -> PostfilterVerdict:
    """Binary, on the three §3.5(b) criteria: 'low' for an unfinished dialogue (no closure in
    the last two turns), a supporter turn without a strategy, broken alternation or a
    bracketed note; otherwise 'high' ~85% of the time and 'low' on one drawn criterion."""
    lang = inp.language
    turns = inp.dialogue
    if not any(CLOSURE in normalise_label(t.strategy).ids for t in turns[-2:]):
        return PostfilterVerdict(quality="low", reason=_zh(
            lang, "对话没有以感谢与告别收尾，还没有结束。", "The conversation is not finished."))
    if any(t.speaker == "supporter" and not (t.strategy or "").strip() for t in turns) or \
            any(a.speaker == b.speaker for a, b in itertools.pairwise(turns)):
        return PostfilterVerdict(quality="low", reason=_zh(
            lang, "客服发言没有标注策略或双方没有轮流发言，策略执行无从判断。",
            "A supporter turn names no strategy or the speakers do not alternate."))
    if any(has_system_note(t.text) for t in turns):
        return PostfilterVerdict(quality="low", reason=_zh(
            lang, "对话中含有括号里的系统提示或旁白。", "A bracketed system note remains."))
    if rng.random() < 0.85:
        return PostfilterVerdict(quality="high", reason=_zh(
            lang, "对话完整结束，策略执行到位，没有系统或第三方干扰。",
            "Finished, strategies followed, no system or third-party noise."))
    zh, en = rng.choice(_JUDGE_LOW)
    return PostfilterVerdict(quality="low", reason=_zh(lang, zh, en))


@responds(Role.ANNOTATOR)
def annotator(inp: DialogueInput, rng: random.Random) -> Annotation:
    """A keyword-guessed label for every supporter turn, indexed by its input position."""
    del rng
    positions = [i for i, t in enumerate(inp.dialogue) if t.speaker == "supporter"]
    labels = [TurnLabel(index=i, strategy=strategy_label(
        guess_strategy(inp.dialogue[i].text, rank, len(positions), inp.language), inp.language))
        for rank, i in enumerate(positions)]
    return Annotation(labels=labels)


@responds(Role.DIALOGUE_JUDGE)
def dialogue_judge(inp: DialogueInput, rng: random.Random) -> DialogueJudgement:
    """All five criteria pass ~85% of the time; otherwise one or two fail, with a reason."""
    names = ("strategy_adherence", "unreasonable_requests", "natural", "varied",
             "role_consistent")
    verdict = dict.fromkeys(names, True)
    if rng.random() < 0.85:
        return DialogueJudgement(**verdict, reason=_zh(
            inp.language, "五项标准均满足。", "All five criteria are met."))
    failed = rng.sample(names, 1 + (rng.random() < 0.4))
    for name in failed:
        verdict[name] = False
    return DialogueJudgement(**verdict, reason=_zh(
        inp.language, f"未通过：{'、'.join(failed)}。", f"Failed: {', '.join(failed)}."))


# ---- RoleCS roles ------------------------------------------------------------------------

def _strategy_of(turn: InputTurn, rank: int, total: int, lang: str) -> int:
    return lb.label_id(turn.strategy) or guess_strategy(turn.text, rank, total, lang)


def _supporter_ids(history: list[InputTurn], lang: str) -> list[int]:
    sup = [t for t in history if t.speaker == "supporter"]
    return [_strategy_of(t, i, len(sup), lang) for i, t in enumerate(sup)]


def _last_text(history: list[InputTurn], speaker: str) -> str:
    return next((t.text for t in reversed(history) if t.speaker == speaker), "")


def next_strategy(history: list[InputTurn], lang: str, rng: random.Random) -> int:
    """The next supporter strategy by the RoleCS rules: Greeting first, Identity Verification
    soon after, Closure when the customer is done or the talk is long, never 3 in a row."""
    used = _supporter_ids(history, lang)
    said = _last_text(history, "customer") if history and history[-1].speaker == "customer" \
        else ""
    if not used:
        return 1
    if (said and lb.says_done(said)) or len(history) >= CLOSE_AFTER_TURNS:
        return 11
    if 2 not in used and len(used) <= 2:
        choice = 2
    elif said and lb.is_upset(said) and used[-1] != 5:
        choice = 5
    elif 3 not in used and used[-1] == 2:
        choice = 3
    elif 8 in used:
        choice = next((s for s in (9, 10) if s not in used), 11)
    elif said and lb.asks_question(said):
        choice = rng.choice((6, 7))
    else:
        choice = 8 if len(used) >= 5 else rng.choice((4, 6, 7))
    if len(used) >= 2 and used[-1] == used[-2] == choice:
        choice = 12 if choice == 8 else 8
    return choice


@responds(Role.SUPPORTER_ASSISTANT)
def supporter_assistant(inp: RolePlayInput, rng: random.Random) -> StrategyChoice:
    sid = next_strategy(inp.history, inp.language, rng)
    avoid = {lb.label_id(a) for a in inp.avoid}
    if sid in avoid:  # asked again with a strategy to avoid: the nearest other one
        sid = next(s for s in (8, 6, 7, 4, 12) if s not in avoid)
    reasons = {1: ("对话刚开始，先礼貌问候。", "The conversation is starting: greet first."),
               2: ("问候之后需要确认客户身份。", "After the greeting, verify the customer."),
               11: ("客户的问题已处理完或对话已足够长，感谢并告别。",
                    "The customer is done or the talk is long enough: thank and close.")}
    zh, en = reasons.get(sid, ("根据客户最新的发言推进问题解决。",
                               "Move the issue forward from the customer's last words."))
    return StrategyChoice(strategy=strategy_label(sid, inp.language),
                          reason=_zh(inp.language, zh, en))


def _unsaid(options: Sequence[str], history: list[InputTurn], speaker: str,
            rng: random.Random) -> str:
    """A template the speaker has not used yet in this dialogue when one is left: people do
    not say the very same sentence twice in one conversation (and RoleCS stops a dialogue
    whose role repeats itself as a loop)."""
    said = [t.text for t in history if t.speaker == speaker]
    fresh = [o for o in options
             if not any(o.split("{issue}")[0].strip() in text for text in said)]
    return rng.choice(fresh or options)


def _reply(sid: int, customer_text: str, fallback: str, lang: str, rng: random.Random,
           history: list[InputTurn] | None = None) -> str:
    text = _unsaid(SUPPORTER[lang][sid], history or [], "supporter", rng)
    if "{issue}" in text:
        phrase = lb.key_phrase(customer_text, lang) or fallback
        text = text.replace("{issue}", lb.second_person(phrase, lang) if phrase else
                            _zh(lang, "您反映的问题", "the issue you raised"))
    if sid not in (1, 11) and lb.is_unreasonable(customer_text):
        text += _zh(lang, "", " ") + UNREASONABLE_NOTE[lang]
    return text


@responds(Role.SUPPORTER)
def supporter(inp: RolePlayInput, rng: random.Random) -> SupporterReply:
    """1-2 sentences from the template of the assigned strategy (Others when unreadable)."""
    sid = lb.label_id(inp.strategy) or 12
    last = _last_text(inp.history, "customer")
    return SupporterReply(text=_reply(sid, last, inp.topic, inp.language, rng, inp.history))


@responds(Role.CANDIDATE)
def candidate(inp: CandidateInput, rng: random.Random) -> CandidatePrediction:
    """A trivial baseline: the RoleCS strategy rules plus a template reply."""
    sid = next_strategy(inp.history, inp.language, rng)
    last = _last_text(inp.history, "customer")
    return CandidatePrediction(strategy=strategy_label(sid, inp.language),
                            response=_reply(sid, last, "", inp.language, rng, inp.history))


# ---- evaluation judges: features, not judgement (only the pipeline is exercised) ----------

_WARM = re.compile(r"抱歉|理解|请|您|感谢|谢谢|放心|\b(?:sorry|understand|please|thank\w*|"
                   r"appreciate|glad|happy to)\b", re.I)


def _size(text: str, lang: str) -> int:
    """A reply's length: characters for zh, words for en (as resp_len counts them)."""
    return len(text.strip()) if lang == "zh" else len(text.split())


@responds(Role.TURN_JUDGE)
def turn_judge(inp: TurnJudgeInput, rng: random.Random) -> TurnJudgement:
    """Scores from surface features: resolution grows with the reply's length and with words
    taken up from the customer's last turn; empathy with courteous words; appropriateness is
    5 when the named strategy is the one the reply's keywords suggest, 3 when it is a real
    strategy, 1 when it names none."""
    del rng
    lang, reply = inp.language, inp.reply.strip()
    if not reply:
        return TurnJudgement(resolution=1, empathy=1, appropriateness=1, reason=_zh(
            lang, "回复为空。", "The reply is empty."))
    size = _size(reply, lang)
    long_enough = size >= (20 if lang == "zh" else 10)
    said = _last_text(inp.history, "customer")
    phrase = lb.key_phrase(said, lang) if said else ""
    echoes = bool(phrase) and any(w in reply for w in phrase.split()[:3] if len(w) > 1)
    resolution = min(5, 2 + long_enough + (size >= (40 if lang == "zh" else 20)) + echoes)
    empathy = 4 if _WARM.search(reply) else 2
    chosen = lb.label_id(inp.strategy)
    sup = [t for t in inp.history if t.speaker == "supporter"]
    guessed = guess_strategy(reply, len(sup), len(sup) + 1, lang)
    appropriateness = 1 if chosen is None else (5 if chosen == guessed else 3)
    return TurnJudgement(resolution=resolution, empathy=empathy,
                         appropriateness=appropriateness, reason=_zh(
                             lang, "根据回复长度、礼貌用语和策略关键词打分。",
                             "Scored from the reply's length, courtesy and strategy words."))


@responds(Role.PAIRWISE_JUDGE)
def pairwise_judge(inp: PairwiseInput, rng: random.Random) -> PairwiseVerdict:
    """The longer (more specific) reply wins; equal lengths are a tie."""
    del rng
    lang = inp.language
    a, b = _size(inp.reply_a, lang), _size(inp.reply_b, lang)
    if a == b:
        return PairwiseVerdict(better="tie", reason=_zh(lang, "两条回复长度相同。",
                                                        "The replies are equally long."))
    better = "A" if a > b else "B"
    return PairwiseVerdict(better=better, reason=_zh(lang, f"回复{better}更具体。",
                                                     f"Reply {better} is more specific."))


def _topic(topic: str) -> dict | None:
    low = topic.lower()
    return next((t for t in TOPICS if any(w in low for w in t["match"])), None)


def _persona_text(persona: str) -> str:
    try:
        data = json.loads(persona)
    except ValueError:
        data = None
    if isinstance(data, dict):
        persona = "; ".join(f"{k}: {v}" for k, v in data.items())
    persona = re.sub(r"\s+", " ", persona).strip().rstrip("。.")
    return re.sub(r"^(?:我是|你是|I am|I'm|You are)\s*", "", persona, flags=re.I)


@responds(Role.PERSONA_DESCRIBER)
def persona_describer(inp: RolePlayInput, rng: random.Random) -> PersonaDescription:
    lang = inp.language
    tone = rng.choice(TONES[lang])
    persona = _persona_text(inp.persona)
    if lang == "zh":
        who = f"你是{persona}" if persona else "你是一位普通的银行客户"
        return PersonaDescription(description=f"{who}。你说话{tone}，这次联系客服是想把自己"
                                              "遇到的问题弄清楚、办妥当。")
    who = f"You are {persona}" if persona else "You are an ordinary bank customer"
    return PersonaDescription(description=f"{who}. You are {tone}, and you contacted support "
                                          "to get your problem understood and settled.")


@responds(Role.PLANNER)
def planner(inp: RolePlayInput, rng: random.Random) -> Plan:
    lang = inp.language
    topic = inp.topic.strip() or _zh(lang, "账户问题", "an account question")
    found = _topic(topic)
    if found:
        scenarios, goals = found[lang]
        k = rng.randrange(len(scenarios))
        scenario, goal = scenarios[k], goals[k]
    else:
        scenario = _zh(lang, f"客户就“{topic}”相关的事情联系客服",
                       f"the customer contacts support about {topic}")
        goal = _zh(lang, f"把“{topic}”相关的问题弄清楚并解决", f"get the {topic} matter resolved")
    persona = lb.key_phrase(_persona_text(inp.persona), lang, limit=20)
    if persona:
        scenario += _zh(lang, f"（客户：{persona}）", f" (customer: {persona})")
    return Plan(scenario=scenario, goal=goal)


@responds(Role.CUSTOMER_ASSISTANT)
def customer_assistant(inp: RolePlayInput, rng: random.Random) -> CustomerDirection:
    """One sentence that steers the customer toward the goal, then toward a natural end."""
    lang = inp.language
    goal = inp.goal or inp.topic or _zh(lang, "解决你的问题", "getting your problem solved")
    ids = _supporter_ids(inp.history, lang)
    last = ids[-1] if ids else 1
    if last in (9, 10, 11) or len(inp.history) >= CLOSE_AFTER_TURNS - 2:
        return CustomerDirection(direction=_zh(lang, "表示问题已经解决，向客服道谢并结束对话。",
                                 "Say the problem is solved, thank the agent and end the call."))
    lines = {
        1: (f"向客服说明来意：{goal}。", f"Tell the agent why you called: {goal}."),
        2: ("按要求报出姓名和手机号（用占位符），配合核实身份。",
            "Give your name and phone number (as placeholders) so they can verify you."),
        3: ("确认客服的理解是否准确，必要时补充一句。",
            "Confirm whether the agent understood you."),
        4: ("回答客服的提问，补充时间、金额等细节。", "Answer the question with times or amounts."),
        5: ("情绪稍微缓和，但催促客服尽快处理。", "Calm down a little but ask them to hurry."),
        8: ("确认办理结果，问问还需要等多久。", "Check the result and ask how long it will take."),
    }
    zh, en = lines.get(last, (f"追问下一步怎么做，继续朝目标推进：{goal}。",
                              f"Ask what happens next and keep pushing toward: {goal}."))
    return CustomerDirection(direction=_zh(lang, zh, en))


def _dialogue_seed(inp: RolePlayInput, seed: int) -> int:
    """Stable for a whole simulated dialogue: it ignores the growing history."""
    key = json.dumps([seed, inp.persona, inp.topic, inp.scenario, inp.goal], ensure_ascii=False)
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)


_ENDING = re.compile(r"结束|道谢|再见|\b(?:end|thank|goodbye)\b", re.I)
_IDENTITY = re.compile(r"姓名|手机号|身份|\b(?:name|phone|verify)\b", re.I)


@responds(Role.CUSTOMER, seeded=True)
def customer(inp: RolePlayInput, rng: random.Random, seed: int = 0) -> CustomerReply:
    """One colloquial sentence; finished after the closure or once the talk is long enough."""
    lang = inp.language
    dialogue_seed = _dialogue_seed(inp, seed)
    limit = 8 + dialogue_seed % 13  # this dialogue ends after 8-20 turns
    ids = _supporter_ids(inp.history, lang)
    last = ids[-1] if ids else 1
    ending = bool(_ENDING.search(inp.direction))
    finished = last == 11 or len(inp.history) >= limit or (ending and len(inp.history) >= 6)
    if finished:
        text = rng.choice(CUSTOMER[lang][11 if last == 11 else 9])
    elif last == 1 or not ids:
        want = inp.goal or inp.topic
        text = _zh(lang, f"你好，我想{want}。" if want else "你好，我想咨询点事情。",
                   f"Hi, I'd like to {want}." if want else "Hi, I have a question.")
    elif _IDENTITY.search(inp.direction) or last == 2:
        text = _unsaid(CUSTOMER[lang][2], inp.history, "customer", rng)
    else:
        text = _unsaid(CUSTOMER[lang][last], inp.history, "customer", rng)
    fillers = ("", "嗯，", "那个，", "哎，") if lang == "zh" else ("", "Um, ", "Well, ", "So, ")
    filler = fillers[dialogue_seed % len(fillers)]
    if filler and rng.random() < 0.5 and not text.startswith(filler):
        text = filler + (text[0].lower() + text[1:] if lang == "en" else text)
    return CustomerReply(text=text, finished=finished)


# ---- the rewriter (simulator/rewrite.py) ---------------------------------------------------

@responds(Role.REWRITER)
def rewriter(inp: DialogueInput, rng: random.Random) -> Answer:
    """The rewrite and the reasoning a reasoning model would show. Unreadable when the input
    has no customer words (the rewrite would have to invent them all)."""
    if not customer_words(inp):
        raise Unreadable("the dialogue has no customer turn with text to keep")
    dialogue, reasoning = rewrite(inp, rng)
    return Answer(dialogue, reasoning)


# ---- dispatch ----------------------------------------------------------------------------

def _help_text(role: str) -> str:
    roles = ", ".join(r.value for r in Role)
    return (f"This is the csc offline simulator, not a model. It has no role named '{role}'. "
            f"Send the header X-CSC-Role or use a model named sim-<role>, where role is one of: "
            f"{roles}; and end the last user message with the role's input as a fenced json "
            "block.")


def respond(role: Role | None, inp: BaseModel | None, rng: random.Random, seed: int,
            role_name: str = "") -> Answer:
    """The answer of `role` to `inp` by its responder; a plain help text for an unknown role.
    Unreadable when the responder cannot work on the input."""
    if role is None or inp is None:
        return Answer(_help_text(role_name))
    return RESPONDERS[role](inp, rng, seed)
