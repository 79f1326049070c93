"""The CSC framework: 5 conversation stages, 12 support strategies, and one label normaliser.

Every stage that reads or writes a strategy label goes through `normalise_label`, so the
warehouse only ever holds strategy ids 1-12 and a reason for every label it refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import IntEnum


class Stage(IntEnum):
    CONNECTING = 1
    IDENTIFYING = 2
    EXPLORING = 3
    RESOLVING = 4
    MAINTAINING = 5

    @property
    def zh(self) -> str:
        return _STAGE_ZH[self]

    @property
    def title(self) -> str:
        return self.name.capitalize()


_STAGE_ZH = {
    Stage.CONNECTING: "欢迎和建立联系",
    Stage.IDENTIFYING: "理解和识别问题",
    Stage.EXPLORING: "寻求解决方案",
    Stage.RESOLVING: "解决和确认",
    Stage.MAINTAINING: "结束和保持关系",
}


@dataclass(frozen=True)
class Strategy:
    id: int
    name: str
    abbr: str
    zh: str
    stage: Stage | None  # None: usable at any stage (Others)
    definition: str
    definition_zh: str = ""

    @property
    def label_zh(self) -> str:
        """The released-data form, e.g. '策略1 礼貌问候'."""
        return f"策略{self.id} {self.zh}"


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(1, "Greeting", "GT", "礼貌问候", Stage.CONNECTING,
             "Opens the conversation warmly and professionally; carries no other content.",
             "以友好、专业的方式开启对话，只问候，不涉及其他内容。"),
    Strategy(2, "Identity Verification", "IV", "确认身份", Stage.CONNECTING,
             "Asks for the personal details needed for security or permission, "
             "usually straight after the greeting.",
             "出于安全或权限需要，询问客户的关键个人信息，通常紧跟在问候之后。"),
    Strategy(3, "Restatement or Paraphrasing", "RP", "重述或转述", Stage.IDENTIFYING,
             "Repeats the customer's problem in other words to confirm it was understood; "
             "adds nothing new.",
             "用自己的话复述客户的问题，确认理解无误，不加入新信息。"),
    Strategy(4, "Problem Refinement", "PR", "细化问题", Stage.IDENTIFYING,
             "Asks targeted questions that draw out information not yet given.",
             "提出有针对性的问题，获取客户尚未提供的新信息。"),
    Strategy(5, "Emotional Management", "EM", "情感管理", Stage.IDENTIFYING,
             "Acknowledges and calms a customer who is visibly upset; may recur at any point.",
             "在客户明显情绪激动或不满时表达共情、安抚情绪，可在任何阶段重复出现。"),
    Strategy(6, "Providing Suggestions", "PS", "提供建议", Stage.EXPLORING,
             "Offers a concrete plan or steps the customer can take.",
             "给出具体可行的解决方案或操作步骤。"),
    Strategy(7, "Information Delivery", "ID", "信息传达", Stage.EXPLORING,
             "States policy, process or terms objectively, without advising.",
             "客观说明政策、流程或条款，不附带建议。"),
    Strategy(8, "Resolution Implementation", "RI", "解决实施", Stage.RESOLVING,
             "Carries out the agreed fix and reports how it is going.",
             "执行已商定的解决办法，并告知客户处理进度。"),
    Strategy(9, "Feedback Request", "FR", "反馈请求", Stage.MAINTAINING,
             "Asks whether the customer is satisfied once the issue has been handled.",
             "问题处理完毕后，询问客户是否满意。"),
    Strategy(10, "Relationship Continuation", "RC", "关系延续", Stage.MAINTAINING,
             "Points to later services, follow-ups or updates.",
             "介绍后续服务、回访或更新信息，维系长期关系。"),
    Strategy(11, "Appreciation & Closure", "AC", "感谢与告别", Stage.MAINTAINING,
             "Thanks the customer and ends the conversation; adds no new content.",
             "感谢客户并结束对话，不再引入新内容。"),
    Strategy(12, "Others", "Others", "其它", None,
             "Used only when none of strategies 1-11 fits.",
             "仅在以上 1–11 种策略都不适用时使用。"),
)

BY_ID: dict[int, Strategy] = {s.id: s for s in STRATEGIES}
GREETING, IDENTITY_VERIFICATION, CLOSURE, OTHERS = 1, 2, 11, 12
REQUIRED_IN_CSCONV = (GREETING, IDENTITY_VERIFICATION, CLOSURE)


def usual_stage(strategy_id: int) -> Stage | None:
    """The stage a strategy usually belongs to; None for Others, which has no home stage.

    A guide for analysts, not a rule: the source never enforces stage order.
    """
    return BY_ID[strategy_id].stage


def _key(text: str) -> str:
    """Fold a label fragment to a lookup key: NFKC, lower case, no spaces or separators."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-–—·・.:：()（）\[\]【】]+", "", text)


def _build_lookup() -> dict[str, int]:
    lookup: dict[str, int] = {}
    for s in STRATEGIES:
        for alias in (s.name, s.abbr, s.zh, str(s.id)):
            lookup[_key(alias)] = s.id
    aliases = {
        "greetings": 1, "greet": 1, "问候": 1,
        "identityverify": 2, "verification": 2, "身份确认": 2, "身份验证": 2,
        "restatement": 3, "paraphrasing": 3, "paraphrase": 3, "重述": 3, "转述": 3,
        "refinement": 4, "problemclarification": 4,
        "emotionmanagement": 5, "emotionalsupport": 5, "empathy": 5,
        "suggestion": 6, "suggestions": 6, "providingsuggestion": 6, "providesuggestions": 6,
        "informationdelivering": 7, "information": 7, "providinginformation": 7,
        "resolution": 8, "implementation": 8,
        "feedback": 9, "feedbackrequests": 9,
        "relationshipmaintenance": 10, "continuation": 10,
        "appreciationandclosure": 11, "appreciationclosure": 11, "closure": 11,
        "thanksandgoodbye": 11, "感谢和告别": 11, "感谢告别": 11,
        "other": 12, "其他": 12, "others": 12,
    }
    lookup.update({_key(k): v for k, v in aliases.items()})
    return lookup


_LOOKUP = _build_lookup()
# "策略6", "strategy 6", "S6": a number with an optional prefix, then an optional name.
_NUMBERED = re.compile(r"^(?:策略|strategy|s)?\s*[#＃]?\s*(\d{1,2})\s*[:：.、\s]?\s*(.*)$", re.I)
_PAREN = re.compile(r"^(.+?)\s*[(（](.+)[)）]$")
# '&' and 'and' are not separators: they belong to "Appreciation & Closure".
_MULTI_SPLIT = re.compile(r"\s*(?:\+|＋|/|／|、|,|，|;|；)\s*")


@dataclass(frozen=True)
class LabelResult:
    """Outcome of normalising one label: ids (several for a multi-strategy label) or a reason."""

    raw: str
    ids: tuple[int, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and len(self.ids) == 1

    @property
    def multi(self) -> bool:
        return len(self.ids) > 1

    @property
    def id(self) -> int | None:
        return self.ids[0] if len(self.ids) == 1 else None


def _single(part: str) -> tuple[int | None, str | None]:
    part = part.strip().strip("\"'“”‘’")
    if not part:
        return None, "empty label"
    hit = _LOOKUP.get(_key(part))
    if hit is not None:
        return hit, None
    paren = _PAREN.match(part)
    if paren:  # 'Problem Refinement (PR)': both halves must name the same strategy
        outer, inner = _single(paren.group(1))[0], _single(paren.group(2))[0]
        if outer is not None and outer == inner:
            return outer, None
    m = _NUMBERED.match(unicodedata.normalize("NFKC", part).strip())
    if m:
        number, name = int(m.group(1)), m.group(2).strip()
        if number not in BY_ID:
            return None, f"strategy number {number} is outside 1-12"
        if name:
            named = _LOOKUP.get(_key(name))
            if named is not None and named != number:
                return None, (f"number {number} ({BY_ID[number].name}) contradicts "
                              f"name '{name}' ({BY_ID[named].name})")
            if named is None:
                return None, f"unknown strategy name '{name}' after number {number}"
        return number, None
    return None, f"unknown strategy label '{part}'"


def normalise_label(label: str | None) -> LabelResult:
    """Map any label form seen in the wild to strategy id(s), or say why it cannot be mapped.

    Accepts '策略1: 礼貌问候', '策略1 礼貌问候', '礼貌问候', 'Greeting', 'GT', '1', and multi-labels
    such as '策略6+策略7' (returned as several ids, which callers treat as multi-strategy).
    """
    raw = "" if label is None else str(label)
    text = raw.strip()
    if not text:
        return LabelResult(raw, error="empty label")
    whole, err = _single(text)
    if whole is not None:
        return LabelResult(raw, (whole,))
    parts = [p for p in _MULTI_SPLIT.split(text) if p.strip()]
    if len(parts) > 1:
        # One id per part, repeats kept: '策略6+策略6' is still a multi-strategy label, which
        # the post-filter (§3.5 d) drops and the published set must never hold.
        ids: list[int] = []
        for part in parts:
            pid, perr = _single(part)
            if pid is None:
                return LabelResult(raw, error=f"multi-strategy label with a bad part: {perr}")
            ids.append(pid)
        return LabelResult(raw, tuple(ids))
    return LabelResult(raw, error=err)


def label_zh(strategy_id: int) -> str:
    """The released CSConv label string for an id ('策略N 名称')."""
    return BY_ID[strategy_id].label_zh


def strategy_label(strategy_id: int, language: str) -> str:
    """The label a dialogue in `language` carries: '策略N 名称' (zh) or the English name."""
    return label_zh(strategy_id) if language == "zh" else BY_ID[strategy_id].name


def strategy_catalogue(language: str) -> str:
    """The 12 strategies as a prompt block, in the dialogue's language."""
    lines = []
    for s in STRATEGIES:
        if language == "zh":
            stage = f"（{s.stage.zh}）" if s.stage else "（任意阶段）"
            lines.append(f"- {s.label_zh}{stage}：{s.definition_zh}")
        else:
            stage = f", {s.stage.title}" if s.stage else ", any stage"
            lines.append(f"- {s.name} ({s.abbr}{stage}): {s.definition}")
    return "\n".join(lines)
