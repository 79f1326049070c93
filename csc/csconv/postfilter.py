"""The rule steps of the CSConv post-filter (csc-method §3.5), pure and in order.

(a) trim trailing utterances holding a parenthesised system note; then the checks that drop a
dialogue: (c) utterance count within bounds, (d) no multi-strategy turn (and every label maps
to one strategy), (e) Greeting, Identity Verification and Appreciation & Closure present,
(f) strict alternation. Step (b), the LLM judge, runs after these (see csc.csconv.stage), so
no judge call is spent on a rewrite the rules drop anyway.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field

from csc.errors import ConfigError
from csc.framework import BY_ID, REQUIRED_IN_CSCONV, normalise_label, usual_stage
from schemas.llm import RewrittenTurn

_PAREN = re.compile(r"[(（]([^()（）]*)[)）]")
# A word inside a bracket makes it a note: one Han character ('（笑）', '（挂机）') or two Latin
# letters in a row ('(ok)', '(customer hangs up)'). Emoticons are built from symbols, kana and
# lone letters ('(^_^)', '(。・ω・。)', '(T_T)', '(ノ°▽°)ノ'), so they never hold one.
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z\u00c0-\u024f]{2}")
SUPPORTER_NAMES = {"客服", "supporter", "agent", "assistant", "helpdesk", "support"}
CUSTOMER_NAMES = {"客户", "customer", "user", "client"}


@dataclass(frozen=True)
class PostfilterConfig:
    """Bounds of step (c). The reference script's own check is a no-op by a bug; the paper
    says 10-50 utterances. Configurable because released dialogues have 7-45."""

    min_utterances: int = 10
    max_utterances: int = 50

    @classmethod
    def from_env(cls) -> PostfilterConfig:
        """CSC_CSCONV_MIN_UTTERANCES / CSC_CSCONV_MAX_UTTERANCES, else the paper's bounds."""
        def read(name: str, default: int) -> int:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit():
                raise ConfigError(f"{name}={raw!r} must be a whole number")
            return int(raw)

        cfg = cls(read("CSC_CSCONV_MIN_UTTERANCES", cls.min_utterances),
                  read("CSC_CSCONV_MAX_UTTERANCES", cls.max_utterances))
        if cfg.min_utterances > cfg.max_utterances:
            raise ConfigError("CSC_CSCONV_MIN_UTTERANCES is above CSC_CSCONV_MAX_UTTERANCES")
        return cfg


@dataclass
class CleanTurn:
    speaker: str  # customer | supporter
    text: str
    strategy_label: str | None
    strategy_id: int | None
    stage: str | None


@dataclass
class RuleOutcome:
    turns: list[CleanTurn] = field(default_factory=list)
    trimmed: int = 0  # trailing utterances dropped by step (a)
    step: str | None = None  # the first failing step, None when every rule passed
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.step is None


def has_system_note(text: str) -> bool:
    """A bracketed aside, full-width or ASCII, holding a word however short ('（挂机）', '(笑)');
    only emoticons, whose brackets hold no word ('(^_^)', '(╥﹏╥)'), are exempt (§3.5 a)."""
    folded = unicodedata.normalize("NFKC", text)
    return any(_WORD.search(m.group(1)) for m in _PAREN.finditer(folded))


def _speaker(raw: str) -> str | None:
    key = raw.strip().lower()
    if key in SUPPORTER_NAMES:
        return "supporter"
    if key in CUSTOMER_NAMES:
        return "customer"
    return None


def apply_rules(rewritten: list[RewrittenTurn],
                cfg: PostfilterConfig = PostfilterConfig()) -> RuleOutcome:
    out = RuleOutcome()
    turns = list(rewritten)
    while turns and has_system_note(turns[-1].text):  # (a)
        turns.pop()
        out.trimmed += 1
    n = len(turns)
    if not cfg.min_utterances <= n <= cfg.max_utterances:  # (c)
        out.step = "length"
        out.reason = f"{n} utterances, outside {cfg.min_utterances}-{cfg.max_utterances}"
        return out

    for i, t in enumerate(turns):
        speaker = _speaker(t.speaker)
        if speaker is None:
            out.step, out.reason = "speaker", f"turn {i}: unknown speaker '{t.speaker[:20]}'"
            return out
        label = t.strategy.strip() if t.strategy else ""
        sid = stage = None
        if speaker == "supporter":
            result = normalise_label(label)
            if result.multi:  # (d)
                out.step, out.reason = "multi_strategy", f"turn {i}: '{label}' names " \
                    f"{len(result.ids)} strategies"
                return out
            if not result.ok:
                out.step, out.reason = "strategy_label", f"turn {i}: {result.error}"
                return out
            sid = result.id
            home = usual_stage(sid)
            stage = home.name.lower() if home else None
        out.turns.append(CleanTurn(speaker, t.text.strip(), label or None, sid, stage))

    present = {t.strategy_id for t in out.turns}
    missing = [BY_ID[s].name for s in REQUIRED_IN_CSCONV if s not in present]  # (e)
    if missing:
        out.step, out.reason = "required_strategies", "missing " + ", ".join(missing)
        return out
    for i in range(1, n):  # (f)
        if out.turns[i].speaker == out.turns[i - 1].speaker:
            out.step = "alternation"
            out.reason = f"turns {i - 1} and {i} are both {out.turns[i].speaker}"
            return out
    if any(not t.text for t in out.turns):
        out.step, out.reason = "empty_turn", "a turn has no text"
    return out
