"""The simulated rewriter: rebuild a dialogue so every supporter turn follows one strategy.

A share of the rewrites is deliberately flawed (chosen by the content hash, so a given input
always gets the same flaw), because the post-filter downstream has a step for each flaw and
the offline demo has to exercise every one of them.

The shape varies too, as a model choosing the best strategy per turn would: the customer may
open the call, identity may be checked before or after the problem is restated, an Others
turn may appear, and feedback, continuation and a customer farewell come and go. The shape is
drawn from the same content-seeded stream, so it is reproducible for a given input.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from csc.framework import strategy_label
from csc.speakers import CUSTOMER as CUSTOMER_ROLE
from csc.speakers import SUPPORTER as SUPPORTER_ROLE
from schemas.llm import DialogueInput, RewrittenDialogue, RewrittenTurn
from simulator import labeller as lb
from simulator.templates import CUSTOMER, ISSUE_FALLBACK, SUPPORTER, SYSTEM_NOTES

# (flaw, cumulative share): the rest (65%) has no flaw. High enough that the ~30 dialogues of the
# bundled samples exercise every post-filter step.
# "missing_required": the rewrite leaves out Identity Verification or the closure, as a free
# model sometimes does; post-filter step (e) drops it.
DEFECTS: tuple[tuple[str, float], ...] = (
    ("system_note", 0.07), ("multi_strategy", 0.13), ("missing_required", 0.19),
    ("broken_alternation", 0.28), ("too_short", 0.35),
)
MAX_CUSTOMER_TURNS = 8  # keeps a rewrite within 31 utterances, the longest shape and flaws in
SPEAKERS = {"zh": ("客户", "客服"), "en": (CUSTOMER_ROLE, SUPPORTER_ROLE)}
_LEAD = {
    "zh": {6: "建议您这样处理：", 7: "按照相关规定，情况是这样的：", 8: "已经为您处理，"},
    "en": {6: "Here is what I suggest: ", 7: "According to our rules, ", 8: "I have handled it: "},
}
_MIDDLE = (4, 6, 7, 8, 3, 10)
_PLACEHOLDER = re.compile(r"\[(?:姓名|手机号码|身份证号|银行卡号|NAME|PHONE|ID_NUMBER|"
                          r"CARD_NUMBER)\]")


@dataclass(frozen=True)
class Shape:
    """How a rewrite is laid out, beyond its customer turns."""

    customer_first: bool  # the customer opens the call; the greeting answers them
    verify_late: bool  # identity is checked after the problem is restated, not at once
    others: bool  # one Others turn (a hold, a filler) in the middle
    feedback: bool  # a Feedback Request before the closure
    continuation: bool  # a Relationship Continuation before the closure
    farewell: bool  # the customer says goodbye after the closure
    closure: bool  # an Appreciation & Closure turn; a free rewrite sometimes ends without one


def pick_shape(rng: random.Random) -> Shape:
    """A shape from the content-seeded stream: most rewrites greet first and verify at once,
    a good share do not."""
    return Shape(customer_first=rng.random() < 0.35, verify_late=rng.random() < 0.3,
                 others=rng.random() < 0.3, feedback=rng.random() < 0.6,
                 continuation=rng.random() < 0.4, farewell=rng.random() < 0.5,
                 closure=rng.random() >= 0.07)


def pick_defect(u: float) -> str:
    """The flaw of a rewrite from a uniform draw of its content hash ('clean' for most)."""
    for name, bound in DEFECTS:
        if u < bound:
            return name
    return "clean"


def _joiner(language: str) -> str:
    return "" if language == "zh" else " "


def _segments(inp: DialogueInput) -> tuple[list[str], list[str]]:
    """Customer texts (consecutive lines merged) and the supporter reply after each one."""
    customers: list[str] = []
    replies: list[str] = []
    join = _joiner(inp.language)
    for turn in inp.dialogue:
        text = turn.text.strip()
        if not text:
            continue
        if turn.speaker == "customer":
            if len(customers) > len(replies):
                customers[-1] += join + text
            else:
                customers.append(text)
        elif customers:
            if len(replies) == len(customers):
                replies[-1] += join + text
            else:
                replies.append(text)
    replies += [""] * (len(customers) - len(replies))
    return customers, replies


def _identity_answer(customers: list[str], replies: list[str]) -> str | None:
    """Take out the original customer turn that answered an identity check, if there is one:
    it becomes the answer to the rewrite's own Identity Verification turn."""
    for i in range(1, len(customers)):
        asked = lb.guess_strategy(replies[i - 1], 1, 3, "zh") == 2
        if asked or _PLACEHOLDER.search(customers[i]):
            replies[i - 1] = replies[i]
            del replies[i]
            return customers.pop(i)
    return None


def _fit(customers: list[str], replies: list[str], language: str) -> tuple[list, list]:
    """Split a lone long customer turn in two; merge neighbours while there are too many."""
    if len(customers) == 1:
        parts = lb.clauses(customers[0])
        if len(parts) >= 4:
            half = len(parts) // 2
            comma, stop = ("，", "。") if language == "zh" else (", ", ".")
            customers = [comma.join(parts[:half]) + stop, comma.join(parts[half:]) + stop]
            replies = ["", replies[0]]
    join = _joiner(language)
    while len(customers) > MAX_CUSTOMER_TURNS:
        i = min(range(len(customers) - 1), key=lambda k: len(customers[k]) + len(customers[k + 1]))
        customers[i:i + 2] = [customers[i] + join + customers[i + 1]]
        replies[i:i + 2] = [replies[i + 1] or replies[i]]
    return customers, replies


class _Builder:
    """Collects (speaker, strategy id, text) rows and writes supporter texts from templates."""

    def __init__(self, language: str, rng: random.Random) -> None:
        self.lang = language
        self.rng = rng
        self.rows: list[tuple[str, int | None, str]] = []

    def issue(self, customer_text: str) -> str:
        phrase = lb.key_phrase(customer_text, self.lang)
        return lb.second_person(phrase, self.lang) if phrase else ISSUE_FALLBACK[self.lang]

    def template(self, sid: int, customer_text: str = "") -> str:
        text = self.rng.choice(SUPPORTER[self.lang][sid])
        return text.replace("{issue}", self.issue(customer_text)) if "{issue}" in text else text

    def supporter(self, sid: int, customer_text: str = "", original: str = "") -> None:
        text = self.template(sid, customer_text)
        reusable = original and lb.guess_strategy(original, 1, 3, self.lang) in (sid, 12)
        if sid in _LEAD[self.lang] and reusable and self.rng.random() < 0.5:
            core = lb.key_phrase(original, self.lang, limit=40 if self.lang == "zh" else 20)
            if core:
                text = _LEAD[self.lang][sid] + core + ("。" if self.lang == "zh" else ".")
        self.rows.append(("supporter", sid, text))

    def customer(self, text: str) -> None:
        self.rows.append(("customer", None, text))

    def canned(self, key: int | str) -> str:
        return self.rng.choice(CUSTOMER[self.lang][key])

    def last_strategy(self) -> int | None:
        return next((sid for sp, sid, _ in reversed(self.rows) if sp == "supporter"), None)


def _middle(b: _Builder, customer_text: str, original: str, position: int) -> int:
    """A plausible strategy for a supporter turn inside the conversation."""
    prev = b.last_strategy()
    guessed = lb.guess_strategy(original, 1, 3, b.lang) if original else None
    if guessed in (3, 4, 5, 6, 7, 8, 10) and guessed != prev:
        return guessed
    if lb.is_upset(customer_text) and prev != 5:
        return 5
    if lb.asks_question(customer_text):
        choice = 7 if prev != 7 else 6
    else:
        choice = _MIDDLE[(position + b.rng.randrange(len(_MIDDLE))) % len(_MIDDLE)]
    return choice if choice != prev else 6 if prev != 6 else 7


def _build(customers: list[str], replies: list[str], b: _Builder, defect: str,
           identity: str | None, shape: Shape) -> None:
    first = customers[0]
    if shape.customer_first:
        b.customer(b.canned("opener"))
    b.supporter(1)
    b.customer(first)
    # the required strategy this rewrite leaves out, if any: the missing_required flaw drops IV
    # or the closure; a shape without a closure drops the closure
    drop = (("iv", "closure")[b.rng.random() < 0.5]) if defect == "missing_required" else ""
    if not shape.closure:
        drop = drop or "closure"
    if defect == "too_short":
        b.supporter(2)
        b.customer(identity or b.canned(2))
        b.supporter(8 if not lb.asks_question(first) else 7, first, replies[0])
        b.customer(b.canned(b.last_strategy() or 8))
        b.supporter(11)
        return
    # the problem statement, most likely: the longest early turn that is not an ID answer
    main = max((c for c in customers[:3] if not _PLACEHOLDER.search(c)), key=len, default=first)
    opener = 5 if lb.is_upset(first) else 3

    def verify() -> None:
        if drop == "iv":  # a question about the problem instead of an identity check
            b.supporter(4, first)
            b.customer(b.canned(4))
        else:
            b.supporter(2)
            b.customer(identity or b.canned(2))

    if not shape.verify_late:
        verify()
    b.supporter(opener, main)
    b.customer(customers[1] if len(customers) > 1 else b.canned(opener))
    if shape.verify_late:
        verify()
    hold = b.rng.randrange(2, max(3, len(customers))) if shape.others else -1
    for i in range(2, len(customers)):
        if i == hold:
            b.supporter(12)
            b.customer(b.canned(12))
        b.supporter(_middle(b, customers[i - 1], replies[i - 1], i), customers[i - 1],
                    replies[i - 1])
        b.customer(customers[i])
    if shape.others and hold >= len(customers):
        b.supporter(12)
        b.customer(b.canned(12))
    resolve = 8 if b.last_strategy() != 8 else 7
    b.supporter(resolve, main, replies[-1])
    b.customer(b.canned(resolve))
    if shape.feedback or drop == "closure":
        b.supporter(9)
        b.customer(b.canned(9))
    if shape.continuation:
        b.supporter(10)
        b.customer(b.canned(10))
    if drop != "closure":  # without a closure, the customer's answer to FR ends the call
        b.supporter(11)
        if shape.farewell:
            b.customer(b.canned(11))


def _flaw(b: _Builder, defect: str) -> None:
    rows = b.rows
    if defect == "system_note":  # one trailing note, sometimes two
        for _ in range(1 + (b.rng.random() < 0.3)):
            speaker = "supporter" if rows[-1][0] == "customer" else "customer"
            rows.append((speaker, None, b.rng.choice(SYSTEM_NOTES[b.lang])))
    elif defect == "multi_strategy":
        middle = [i for i, (sp, sid, _) in enumerate(rows) if sp == "supporter"
                  and sid not in (1, 2, 11)]
        i = b.rng.choice(middle)
        _, sid, text = rows[i]
        partner = lb.PARTNER[sid]
        extra = b.template(partner)
        rows[i] = ("supporter", -sid, text + _joiner(b.lang) + extra)  # negative: multi-label
    elif defect == "broken_alternation":
        spots = [i for i, (sp, _, _) in enumerate(rows) if sp == "customer"][1:-1] or [1]
        i = b.rng.choice(spots)
        rows.insert(i + 1, ("customer", None, b.canned("nudge")))


def _reasoning(lang: str, n_in: int, n_customers: int, rows: list) -> str:
    n_sup = sum(1 for sp, _, _ in rows if sp == "supporter")
    order = [sid for sp, sid, _ in rows if sp == "supporter" and sid is not None]
    who = ("客户先开口" if lang == "zh" else "the customer speaks first") \
        if rows[0][0] == "customer" else ("客服先开口" if lang == "zh" else "the agent opens")
    if lang == "zh":
        chain = "、".join(f"策略{abs(sid)}" for sid in order)
        return (f"原对话共{n_in}句，客户说了{n_customers}段话。改写时{who}，每一轮都根据当时的"
                f"情况挑选最合适的策略，依次为：{chain}。客户的原话尽量保留，敏感信息用占位符表示。"
                f"改写后共{len(rows)}句，客服{n_sup}句，每句客服话语只对应一个策略。")
    chain = ", ".join(str(abs(sid)) for sid in order)
    return (f"The original has {n_in} utterances and {n_customers} customer turns. In the "
            f"rewrite {who}; each agent turn takes the strategy that fits best at that point, "
            f"in this order: {chain}. Customer words are kept, sensitive data stay "
            f"placeholders. The rewrite has {len(rows)} utterances, {n_sup} by the supporter, "
            "each following exactly one strategy.")


def customer_words(inp: DialogueInput) -> bool:
    """Whether the input has a customer turn with text, which a rewrite keeps."""
    return any(t.speaker == "customer" and t.text.strip() for t in inp.dialogue)


def rewrite(inp: DialogueInput, rng: random.Random) -> tuple[RewrittenDialogue, str]:
    """A rewritten dialogue and the reasoning a reasoning model would have shown. Served only
    for input with customer words (see `customer_words`): without any, every customer line
    would be canned, a dialogue invented rather than rewritten."""
    lang = inp.language
    defect = pick_defect(rng.random())
    customers, replies = _segments(inp)
    if not customers:  # direct callers only: over HTTP, respond() refuses such input first
        customers, replies = [CUSTOMER[lang][4][0]], [""]
    identity = _identity_answer(customers, replies)
    customers, replies = _fit(customers, replies, lang)
    shape = pick_shape(rng)
    b = _Builder(lang, rng)
    _build(customers, replies, b, defect, identity, shape)
    _flaw(b, defect)
    customer_name, supporter_name = SPEAKERS[lang]
    turns = []
    for speaker, sid, text in b.rows:
        if sid is None:  # a customer turn, or a trailing system note: no strategy
            name = customer_name if speaker == "customer" else supporter_name
            turns.append(RewrittenTurn(speaker=name, strategy="", text=text))
        else:
            label = lb.multi_label(-sid, lang) if sid < 0 else strategy_label(sid, lang)
            turns.append(RewrittenTurn(speaker=supporter_name, strategy=label, text=text))
    return RewrittenDialogue(turns), _reasoning(lang, len(inp.dialogue), len(customers), b.rows)
