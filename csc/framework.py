"""The CSC framework: 5 conversation phases, 12 support strategies, and one label normaliser.

Words: the method calls its five parts of a conversation "stages"; the code calls them phases
(`Phase`), because a stage here is a pipeline stage (csc.kit). Only the analyst-facing column
`stage` and the view `marts.stages` keep the method's word, so existing queries keep working.

Every pipeline stage that reads or writes a strategy label goes through `normalise_label`, so the
warehouse only ever holds strategy ids 1-12 and a reason for every label it refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import IntEnum


class Phase(IntEnum):
    """A conversation phase (the method's "stage")."""

    CONNECTING = 1
    IDENTIFYING = 2
    EXPLORING = 3
    RESOLVING = 4
    MAINTAINING = 5

    @property
    def zh(self) -> str:
        return _PHASE_ZH[self]

    @property
    def title(self) -> str:
        return self.name.capitalize()


_PHASE_ZH = {
    Phase.CONNECTING: "欢迎和建立联系",
    Phase.IDENTIFYING: "理解和识别问题",
    Phase.EXPLORING: "寻求解决方案",
    Phase.RESOLVING: "解决和确认",
    Phase.MAINTAINING: "结束和保持关系",
}


@dataclass(frozen=True)
class Strategy:
    id: int
    name: str
    abbr: str
    zh: str
    phases: tuple[Phase, ...]  # usual phases, as csc-method §2 lists them; () for Others
    definition: str
    definition_zh: str = ""

    @property
    def phase(self) -> Phase | None:
        """The first usual phase (the one stored per turn); None for Others."""
        return self.phases[0] if self.phases else None

    @property
    def label_zh(self) -> str:
        """The released-data form, e.g. '策略1 礼貌问候'."""
        return f"策略{self.id} {self.zh}"

    @property
    def label_en(self) -> str:
        """The English twin of the released form, e.g. 'Strategy 1 Greeting'."""
        return f"Strategy {self.id} {self.name}"


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(1, "Greeting", "GT", "礼貌问候", (Phase.CONNECTING,),
             "Opens the conversation warmly and professionally; carries no other content.",
             "以友好、专业的方式开启对话，只问候，不涉及其他内容。"),
    Strategy(2, "Identity Verification", "IV", "确认身份", (Phase.CONNECTING,),
             "Asks for the personal details needed for security or permission, "
             "usually straight after the greeting.",
             "出于安全或权限需要，询问客户的关键个人信息，通常紧跟在问候之后。"),
    Strategy(3, "Restatement or Paraphrasing", "RP", "重述或转述", (Phase.IDENTIFYING,),
             "Repeats the customer's problem in other words to confirm it was understood; "
             "adds nothing new.",
             "用自己的话复述客户的问题，确认理解无误，不加入新信息。"),
    Strategy(4, "Problem Refinement", "PR", "细化问题", (Phase.IDENTIFYING, Phase.EXPLORING),
             "Asks targeted questions that draw out information not yet given.",
             "提出有针对性的问题，获取客户尚未提供的新信息。"),
    Strategy(5, "Emotional Management", "EM", "情感管理", (Phase.IDENTIFYING,),
             "Acknowledges and calms a customer who is visibly upset; may recur at any point.",
             "在客户明显情绪激动或不满时表达共情、安抚情绪，可在任何阶段重复出现。"),
    Strategy(6, "Providing Suggestions", "PS", "提供建议", (Phase.EXPLORING,),
             "Offers a concrete plan or steps the customer can take.",
             "给出具体可行的解决方案或操作步骤。"),
    Strategy(7, "Information Delivery", "ID", "信息传达", (Phase.EXPLORING, Phase.RESOLVING),
             "States policy, process or terms objectively, without advising.",
             "客观说明政策、流程或条款，不附带建议。"),
    Strategy(8, "Resolution Implementation", "RI", "解决实施", (Phase.RESOLVING,),
             "Carries out the agreed fix and reports how it is going.",
             "执行已商定的解决办法，并告知客户处理进度。"),
    Strategy(9, "Feedback Request", "FR", "反馈请求", (Phase.MAINTAINING,),
             "Asks whether the customer is satisfied once the issue has been handled.",
             "问题处理完毕后，询问客户是否满意。"),
    Strategy(10, "Relationship Continuation", "RC", "关系延续", (Phase.MAINTAINING,),
             "Points to later services, follow-ups or updates.",
             "介绍后续服务、回访或更新信息，维系长期关系。"),
    Strategy(11, "Appreciation & Closure", "AC", "感谢与告别", (Phase.MAINTAINING,),
             "Thanks the customer and ends the conversation; adds no new content.",
             "感谢客户并结束对话，不再引入新内容。"),
    Strategy(12, "Others", "Others", "其它", (),
             "Used only when none of strategies 1-11 fits.",
             "仅在以上 1–11 种策略都不适用时使用。"),
)

BY_ID: dict[int, Strategy] = {s.id: s for s in STRATEGIES}
GREETING, IDENTITY_VERIFICATION, CLOSURE, OTHERS = 1, 2, 11, 12
REQUIRED_IN_CSCONV = (GREETING, IDENTITY_VERIFICATION, CLOSURE)


def usual_phases(strategy_id: int) -> tuple[Phase, ...]:
    """Every phase csc-method §2 lists for a strategy (PR: Identifying and Exploring; ID:
    Exploring and Resolving); () for Others, which belongs to any phase.

    A guide for analysts, not a rule: the source never enforces phase order.
    """
    return BY_ID[strategy_id].phases


def usual_phase(strategy_id: int) -> Phase | None:
    """The first phase the reference lists for a strategy; None for Others.

    A turn stores one phase (column `stage`), so a strategy the table puts in two phases (PR,
    ID) is stored under the first one named there; `usual_phases` gives both.
    """
    return BY_ID[strategy_id].phase


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
# Markdown and bracket decoration a model wraps a label in: '### ', '**', '`', '[...]', '【...】'.
_HEADING = re.compile(r"^\s*#+\s*")
_DECORATION = re.compile(r"[*`\[\]【】「」『』《》〔〕]")
# '策略五' -> '策略5': Chinese numerals one to twelve (and beyond, so 十三 is out of range).
_ZH_NUMBER = re.compile(r"(策略)\s*([一二三四五六七八九十]{1,3})")
_ZH_DIGIT = {c: i for i, c in enumerate("一二三四五六七八九", 1)}
# Separators between strategies. The joining words (&, and, or, 和, 及, 与, 或) also occur inside
# single names ('Appreciation & Closure', '感谢与告别'), so a label is split only when it does
# not name one strategy as a whole, and then into the fewest parts that each name one.
_MULTI_SPLIT = re.compile(
    r"((?:\s*(?:\+|/|、|,|，|;|；|&|\band\b|\bor\b|以及|和|及|与|或)\s*)+)", re.I)
# What a model writes when it gives no strategy: unknown, never a multi-label ('N/A').
_NOTHING = {"n/a", "na", "none", "null", "nil", "无", "没有", "不适用", "-", "--", "—", "/"}


@dataclass(frozen=True)
class LabelResult:
    """Outcome of normalising one label: ids (several for a multi-strategy label) or a reason.

    `error_kind` classes a rejection (empty, unknown, unknown_name, out_of_range,
    contradiction, bad_part) so callers and tests need not parse the message.
    """

    raw: str
    ids: tuple[int, ...] = ()
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and len(self.ids) == 1

    @property
    def multi(self) -> bool:
        return len(self.ids) > 1

    @property
    def id(self) -> int | None:
        return self.ids[0] if len(self.ids) == 1 else None

    @property
    def kind(self) -> str:
        """'ok' (one strategy), 'multi' (several), or the class of the rejection."""
        if self.error is not None:
            return self.error_kind or "unknown"
        return "multi" if self.multi else "ok"


def _zh_number(text: str) -> int:
    """一..九, 十, 十一..十九, 二十.. as an int ('十二' is 12, not 1 then 2)."""
    if "十" not in text:
        return _ZH_DIGIT[text[-1]] if len(text) == 1 else 0
    tens, _, units = text.partition("十")
    if len(tens) > 1 or len(units) > 1 or "十" in units:
        return 0
    return (_ZH_DIGIT.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGIT.get(units, 0))


def _undecorate(text: str) -> str:
    """Drop markdown and brackets around a label and write Chinese numerals as digits."""
    text = _DECORATION.sub(" ", _HEADING.sub("", unicodedata.normalize("NFKC", text)))
    text = _ZH_NUMBER.sub(lambda m: f"{m.group(1)}{_zh_number(m.group(2))}", text)
    return text.strip().strip("\"'“”‘’").strip()


def _single(part: str) -> tuple[int | None, str | None, str | None]:
    """One strategy id, or (None, reason, reason class)."""
    part = part.strip().strip("\"'“”‘’")
    if not part:
        return None, "empty label", "empty"
    hit = _LOOKUP.get(_key(part))
    if hit is not None:
        return hit, None, None
    paren = _PAREN.match(part)
    if paren:  # 'Problem Refinement (PR)': both halves must name the same strategy
        outer, inner = _single(paren.group(1))[0], _single(paren.group(2))[0]
        if outer is not None and outer == inner:
            return outer, None, None
    m = _NUMBERED.match(unicodedata.normalize("NFKC", part).strip())
    if m:
        number, name = int(m.group(1)), m.group(2).strip()
        if number not in BY_ID:
            return None, f"strategy number {number} is outside 1-12", "out_of_range"
        if name:
            named = _LOOKUP.get(_key(name))
            if named is not None and named != number:
                return None, (f"number {number} ({BY_ID[number].name}) contradicts "
                              f"name '{name}' ({BY_ID[named].name})"), "contradiction"
            if named is None:
                return None, f"unknown strategy name '{name}' after number {number}", \
                    "unknown_name"
        return number, None, None
    return None, f"unknown strategy label '{part}'", "unknown"


def _segment(text: str) -> tuple[tuple[int, ...], str | None]:
    """Split a label into the fewest parts that each name one strategy (ids in order), or
    return the reason of the first part that names none."""
    tokens = _MULTI_SPLIT.split(text)  # part, separator, part, ..., part
    pieces = len(tokens) // 2 + 1
    # best[j]: ids covering pieces 0..j-1 in the fewest parts, or None when impossible
    best: list[tuple[int, ...] | None] = [()] + [None] * pieces
    for j in range(1, pieces + 1):
        for i in range(j):
            head = best[i]
            if head is None:
                continue
            sid = _single("".join(tokens[2 * i:2 * j - 1]))[0]
            if sid is not None and (best[j] is None or len(head) + 1 < len(best[j])):
                best[j] = (*head, sid)
    if best[pieces] is not None:
        return best[pieces], None
    bad = next(_single(tokens[k])[1] for k in range(0, len(tokens), 2)
               if _single(tokens[k])[0] is None)
    return (), bad


def normalise_label(label: str | None) -> LabelResult:
    """Map any label form seen in the wild to strategy id(s), or say why it cannot be mapped.

    Accepts '策略1: 礼貌问候', '策略1 礼貌问候', '礼貌问候', 'Greeting', 'GT', '1'; decorated forms
    ('### 策略1: 礼貌问候', '**EM**', '【策略5】情感管理', '策略五：情感管理'); and multi-labels
    ('策略6+策略7', 'PS and ID', '提供建议和信息传达'), returned as several ids, which
    callers treat as multi-strategy. 'N/A', 'none', '无' and '-' name no strategy: unknown.
    """
    raw = "" if label is None else str(label)
    if not raw.strip():
        return LabelResult(raw, error="empty label", error_kind="empty")
    text = _undecorate(raw)
    if not text:
        return LabelResult(raw, error="empty label", error_kind="empty")
    if text.lower() in _NOTHING:
        return LabelResult(raw, error=f"no strategy named: '{text}'", error_kind="unknown")
    whole, err, kind = _single(text)
    if whole is not None:
        return LabelResult(raw, (whole,))
    ids, bad = _segment(text)
    if ids:
        # One id per part, repeats kept: '策略6+策略6' is still a multi-strategy label, which
        # the post-filter (§3.5 d) drops and the published set must never hold.
        return LabelResult(raw, ids)
    parts = [p for p in _MULTI_SPLIT.split(text)[::2] if p.strip()]
    if len(parts) > 1 and any(_single(p)[0] is not None for p in parts):
        return LabelResult(raw, error=f"multi-strategy label with a bad part: {bad}",
                           error_kind="bad_part")
    return LabelResult(raw, error=err, error_kind=kind)


def label_zh(strategy_id: int) -> str:
    """The released CSConv label string for an id ('策略N 名称')."""
    return BY_ID[strategy_id].label_zh


def label_en(strategy_id: int) -> str:
    """The English export label for an id ('Strategy N Name')."""
    return BY_ID[strategy_id].label_en


def strategy_label(strategy_id: int, language: str) -> str:
    """The label a dialogue in `language` carries: '策略N 名称' (zh) or the English name."""
    return label_zh(strategy_id) if language == "zh" else BY_ID[strategy_id].name


def strategy_catalogue(language: str) -> str:
    """The 12 strategies as a prompt block, in the dialogue's language, each with every usual
    stage the reference names (PR: Identifying/Exploring), so the model is not told less."""
    lines = []
    for s in STRATEGIES:
        if language == "zh":
            where = "/".join(st.zh for st in s.phases) or "任意阶段"
            lines.append(f"- {s.label_zh}（{where}）：{s.definition_zh}")
        else:
            where = "/".join(st.title for st in s.phases) or "any stage"
            stage = f", {where}"
            lines.append(f"- {s.name} ({s.abbr}{stage}): {s.definition}")
    return "\n".join(lines)
