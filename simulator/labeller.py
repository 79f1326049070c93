"""Keyword heuristics shared by the simulated roles: a strategy labeller, multi-strategy labels,
and small text helpers. Cheap on purpose: they run inside request handlers. Strategy names and
label forms come from csc.framework, never restated here.
"""

from __future__ import annotations

import re

from csc.framework import BY_ID, normalise_label

_CLAUSE = re.compile(r"[，。！？；,.!?;：:\n]+")

# Multi-label partner of each strategy (used to fake a '策略6+策略7' turn).
PARTNER = {1: 2, 2: 4, 3: 4, 4: 3, 5: 6, 6: 7, 7: 6, 8: 9, 9: 10, 10: 11, 11: 10, 12: 7}


def multi_label(strategy_id: int, language: str) -> str:
    """A two-strategy label such as '策略6+策略7' or 'Providing Suggestions+Information ...'."""
    other = PARTNER[strategy_id]
    if language == "zh":
        return f"策略{strategy_id}+策略{other}"
    return f"{_multi_part(strategy_id)}+{_multi_part(other)}"


def _multi_part(strategy_id: int) -> str:
    """An English name safe inside a multi-label: normalise_label splits on '&', so
    'Appreciation & Closure' would fall apart; its alias 'Closure' does not."""
    return "Closure" if strategy_id == 11 else BY_ID[strategy_id].name


def label_id(label: str | None) -> int | None:
    """The single strategy id of a label, or None (empty, unknown or multi-strategy)."""
    return normalise_label(label).id if label else None


def clauses(text: str) -> list[str]:
    """`text` cut at punctuation, empty pieces dropped."""
    return [c.strip() for c in _CLAUSE.split(text) if c.strip()]


def key_phrase(text: str, language: str, limit: int = 0) -> str:
    """The longest clause of `text`, trimmed: what a template quotes back to the customer."""
    parts = clauses(text)
    if not parts:
        return ""
    best = max(parts, key=len)
    if language == "zh":
        return best[: limit or 24]
    words = best.split()
    return " ".join(words[: limit or 12])


def _rules(raw: dict[int, tuple[str, str]]) -> list[tuple[int, tuple[str, ...], re.Pattern]]:
    """Compile (zh substrings, en word patterns) per strategy, in priority order."""
    out = []
    for sid, (zh, en) in raw.items():
        pattern = re.compile(r"\b(?:" + en + r")\b", re.I)
        out.append((sid, tuple(zh.split("|")), pattern))
    return out


_GREETING = _rules({1: ("您好|你好|欢迎|很高兴为您服务|早上好|下午好",
                        "hello|hi|welcome|good (?:morning|afternoon|evening)|thanks for calling")})
_CLOSING = _rules({11: ("感谢|谢谢|再见|祝您|生活愉快",
                        "thank(?:s| you)|bye|goodbye|have a (?:nice|great|good) day")})
_BODY = _rules({
    2: ("姓名|手机号|身份证|核实身份|验证|预留|卡号|确认身份|账户信息",
        "your (?:full )?name|phone number|id number|verify|verification|date of birth|"
        "account number|security question|confirm your identity"),
    3: ("您是说|您的意思是|也就是说|我理解的是|我确认一下|跟您确认",
        "you mean|so you|if i understand|just to confirm|to make sure i understand|"
        "let me repeat"),
    5: ("抱歉|对不起|理解您的心情|理解您的担心|别着急|请您放心|给您添麻烦",
        "sorry|apologi[sz]e|understand your frustration|i understand how|"
        "don't worry|i can see this is upsetting"),
    8: ("已为您|已经为您|已帮您|已经帮您|办理好|处理好了|提交了|正在为您",
        "i have|i've|processed|submitted|has been (?:done|updated|fixed|refunded)|"
        "i am (?:now )?(?:processing|updating)"),
    9: ("满意|还有其他|还有什么|解决了吗|有没有帮到",
        "satisf(?:ied|action)|anything else|did that help|has that solved"),
    10: ("以后|今后|关注|新活动|优惠活动|随时联系|后续",
         "future|new offers|stay tuned|follow[- ]up|keep you (?:posted|updated)|"
         "feel free to contact"),
    6: ("建议|您可以|可以尝试|不妨|推荐您|最好|可以先帮您|可以帮您",
        "you can|you could|try|recommend|suggest|we advise|it is best to"),
    7: ("规定|政策|按照|根据|费用|手续费|利率|流程|条款|工作日",
        "policy|fee|fees|according to|terms|rate|rules|process|business days"),
    4: ("请问|能否|是否|哪|什么时候|多少|怎么样|什么",
        "what|which|when|where|how|could you tell|can you tell|do you|did you|is it"),
})


def _hits(rules, text: str) -> int | None:
    for sid, zh_words, en_pattern in rules:
        if any(w in text for w in zh_words) or en_pattern.search(text):
            return sid
    return None


def guess_strategy(text: str, position: int, n_supporter_turns: int, language: str) -> int:
    """The strategy a supporter turn most likely follows, by keywords and its position.

    `position` is the turn's rank among the dialogue's supporter turns (0-based). Greeting
    words count only at the first turn and thanks/bye only near the end, because the same
    words appear mid-conversation with another purpose.
    """
    del language  # both languages' keywords are tried: code-switched lines exist
    last = position >= n_supporter_turns - 1
    if position == 0 and _hits(_GREETING, text):
        return 1
    if last and _hits(_CLOSING, text):
        return 11
    found = _hits(_BODY, text)
    if found is not None:
        return found
    if text.rstrip().endswith(("?", "？")):
        return 4
    if position >= n_supporter_turns - 2 and _hits(_CLOSING, text):
        return 11
    if position == 0:
        return 1
    return 11 if last else 12


_UPSET = re.compile(r"生气|投诉|怎么回事|太过分|气死|不满|搞什么|凭什么|急死|离谱|受不了|"
                    r"\b(?:angry|ridiculous|unacceptable|frustrat\w*|furious|upset|complain\w*|"
                    r"terrible|worst|fed up)\b", re.I)
_DONE = re.compile(r"谢谢|再见|没有了|没问题了|没别的|拜拜|就这样吧|"
                   r"\b(?:thanks|thank you|bye|goodbye|that's all|nothing else|"
                   r"that's everything)\b", re.I)
_QUESTION = re.compile(r"[?？]|吗|怎么|如何|能不能|可以.{0,6}吗|多久|"
                       r"\b(?:how|what|why|when|can i|could i|is it)\b", re.I)
_UNREASONABLE = re.compile(r"全额赔|十倍|免费给|马上给我退|不用验证|别人的账户|把钱都退|"
                           r"\b(?:for free|compensate me|ten times|skip the verification|"
                           r"someone else's account|refund everything)\b", re.I)
_ZH_PRONOUN = re.compile(r"你们|您们|我们|我|你|您")
_ZH_SWAP = {"你们": "我们", "您们": "我们", "我们": "您这边", "我": "您", "你": "我", "您": "我"}
_EN_PRONOUN = re.compile(r"\b(?:I am|I was|I'm|I've|I'd|I'll|I|me|my|mine|myself)\b")
_EN_SWAP = {"I am": "you are", "I was": "you were", "I'm": "you're", "I've": "you've",
            "I'd": "you'd", "I'll": "you'll", "I": "you", "me": "you", "my": "your",
            "mine": "yours", "myself": "yourself"}


def is_upset(text: str) -> bool:
    return bool(_UPSET.search(text))


def says_done(text: str) -> bool:
    return bool(_DONE.search(text))


def asks_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


def is_unreasonable(text: str) -> bool:
    return bool(_UNREASONABLE.search(text))


def second_person(text: str, language: str) -> str:
    """The customer's words as the supporter would quote them back ('my card' -> 'your card')."""
    if language == "zh":
        return _ZH_PRONOUN.sub(lambda m: _ZH_SWAP[m.group(0)], text)
    return _EN_PRONOUN.sub(lambda m: _EN_SWAP[m.group(0)], text)
