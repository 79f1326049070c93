"""The simulated rewriter: rebuild a dialogue so every supporter turn follows one strategy.

A share of the rewrites is deliberately flawed (chosen by the content hash, so a given input
always gets the same flaw), because the post-filter downstream has a step for each flaw and
the offline demo has to exercise every one of them.
"""

from __future__ import annotations

import random
import re

from csc.simulator import labeller as lb
from csc.simulator.templates import CUSTOMER, ISSUE_FALLBACK, SUPPORTER, SYSTEM_NOTES
from schemas.llm import DialogueInput, RewrittenDialogue, RewrittenTurn

# (flaw, cumulative share): the rest (62%) is clean. High enough that the ~30 dialogues of the
# bundled samples exercise every post-filter step.
DEFECTS: tuple[tuple[str, float], ...] = (
    ("system_note", 0.08), ("multi_strategy", 0.15), ("missing_iv", 0.22),
    ("broken_alternation", 0.29), ("too_short", 0.38),
)
MAX_CUSTOMER_TURNS = 9  # keeps a rewrite within 30 utterances, flaws included
SPEAKERS = {"zh": ("客户", "客服"), "en": ("customer", "supporter")}
_LEAD = {
    "zh": {6: "建议您这样处理：", 7: "按照相关规定，情况是这样的：", 8: "已经为您处理，"},
    "en": {6: "Here is what I suggest: ", 7: "According to our rules, ", 8: "I have handled it: "},
}
_MIDDLE = (4, 6, 7, 8, 3, 10)
_PLACEHOLDER = re.compile(r"\[(?:姓名|手机号码|身份证号|银行卡号|NAME|PHONE|ID_NUMBER|"
                          r"CARD_NUMBER)\]")


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
           identity: str | None) -> None:
    first = customers[0]
    b.supporter(1)
    b.customer(first)
    if defect == "missing_iv":
        b.supporter(4, first)
        b.customer(b.canned(4))
    else:
        b.supporter(2)
        b.customer(identity or b.canned(2))
    if defect == "too_short":
        b.supporter(8 if not lb.asks_question(first) else 7, first, replies[0])
        b.customer(b.canned(b.last_strategy() or 8))
        b.supporter(11)
        return
    # the problem statement, most likely: the longest early turn that is not an ID answer
    main = max((c for c in customers[:3] if not _PLACEHOLDER.search(c)), key=len, default=first)
    opener = 5 if lb.is_upset(first) else 3
    b.supporter(opener, main)
    b.customer(customers[1] if len(customers) > 1 else b.canned(opener))
    for i in range(2, len(customers)):
        b.supporter(_middle(b, customers[i - 1], replies[i - 1], i), customers[i - 1],
                    replies[i - 1])
        b.customer(customers[i])
    resolve = 8 if b.last_strategy() != 8 else 7
    b.supporter(resolve, main, replies[-1])
    b.customer(b.canned(resolve))
    b.supporter(9)
    b.customer(b.canned(9))
    if b.rng.random() < 0.5:
        b.supporter(10)
        b.customer(b.canned(10))
    b.supporter(11)


def _flaw(b: _Builder, defect: str) -> None:
    rows = b.rows
    if defect == "system_note":
        rows.append(("customer", None, b.rng.choice(SYSTEM_NOTES[b.lang])))
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
    if lang == "zh":
        return (f"原对话共{n_in}句，客户说了{n_customers}段话。先用礼貌问候开场，接着请客户提供"
                f"信息以确认身份，再复述客户的问题，然后逐步给出信息、建议并落实解决，最后询问满意度"
                f"并感谢告别。客户的原话尽量保留，敏感信息用占位符表示。改写后共{len(rows)}句，"
                f"客服{n_sup}句，每句客服话语只对应一个策略。")
    return (f"The original has {n_in} utterances and {n_customers} customer turns. Open with a "
            "greeting, verify identity, restate the problem, then deliver information, suggest "
            "steps and carry out the fix, ask for feedback and close with thanks. Customer words "
            f"are kept, sensitive data stay placeholders. The rewrite has {len(rows)} utterances, "
            f"{n_sup} by the supporter, each following exactly one strategy.")


def rewrite(inp: DialogueInput, rng: random.Random) -> tuple[RewrittenDialogue, str]:
    """A rewritten dialogue and the reasoning a reasoning model would have shown."""
    lang = inp.language
    defect = pick_defect(rng.random())
    customers, replies = _segments(inp)
    if not customers:
        customers, replies = [CUSTOMER[lang][4][0]], [""]
    identity = _identity_answer(customers, replies)
    customers, replies = _fit(customers, replies, lang)
    b = _Builder(lang, rng)
    _build(customers, replies, b, defect, identity)
    _flaw(b, defect)
    customer_name, supporter_name = SPEAKERS[lang]
    turns = []
    for speaker, sid, text in b.rows:
        if speaker == "customer":
            turns.append(RewrittenTurn(speaker=customer_name, strategy="", text=text))
        else:
            label = lb.multi_label(-sid, lang) if sid < 0 else lb.label_for(sid, lang)
            turns.append(RewrittenTurn(speaker=supporter_name, strategy=label, text=text))
    return RewrittenDialogue(turns), _reasoning(lang, len(inp.dialogue), len(customers), b.rows)
