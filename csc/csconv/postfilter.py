"""The rule steps of the CSConv post-filter (csc-method §3.5), pure and in order.

First a strategy label the model wrote into a turn's text ('[策略1 礼貌问候] 您好', '(Greeting)
Hello') is taken out of the text and compared with the turn's label (issue 11 A5); it goes
before (a), which would take a bracketed label for a system note. Then (a) trim trailing
utterances holding a parenthesised system note; then the checks that drop a dialogue:
(c) utterance count within bounds, a known speaker, the text's label agreeing with the turn's,
(d) no multi-strategy turn (and every label maps to one strategy), (e) Greeting, Identity
Verification and Appreciation & Closure present, (f) strict alternation, no empty turn; and
last, when the source is given, faithfulness to it (csc.csconv.faithfulness). Step (b), the
LLM judge, runs after these (see csc.csconv.stage), so no judge call is spent on a rewrite the
rules drop anyway.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from csc.csconv.faithfulness import faithfulness, language_of
from csc.framework import BY_ID, REQUIRED_IN_CSCONV, LabelResult, normalise_label, usual_phase
from csc.settings import Settings, current
from csc.speakers import role_of
from schemas.llm import RewrittenTurn

_PAREN = re.compile(r"[(（]([^()（）]*)[)）]")
# A word inside a bracket makes it a note: one Han character ('（笑）', '（挂机）') or two Latin
# letters in a row ('(ok)', '(customer hangs up)'). Emoticons are built from symbols, kana and
# lone letters ('(^_^)', '(。・ω・。)', '(T_T)', '(ノ°▽°)ノ'), so they never hold one.
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z\u00c0-\u024f]{2}")
# A strategy label written into the text: in brackets at the start or the end, or a bare
# '策略N ...：' / 'Strategy N ...:' at the start. Whether it is a label is decided after the
# match (`_text_label`): most bracketed text is not.
_OPEN, _CLOSE = r"[\[［【〔(（]", r"[\]］】〕)）]"
_INNER = r"[^\[\]［］【】〔〕()（）\n]{1,40}?"
_LEADING = re.compile(rf"^\s*{_OPEN}\s*({_INNER})\s*{_CLOSE}\s*[:：\-–—]?\s*")
_TRAILING = re.compile(rf"\s*{_OPEN}\s*({_INNER})\s*{_CLOSE}\s*$")
_BARE = re.compile(r"^\s*((?:策略|strategy)\s*[0-9一二三四五六七八九十]{1,3}[^:：\n]{0,40}?)"
                   r"\s*[:：]\s*", re.I)
# A label names a strategy in words ('策略1', 'Greeting', '问候'): a bare number '(1)' or a
# two-letter abbreviation '(PS)', '[ID]' is far more often ordinary text than a label.
_NAMED = re.compile(r"[\u3400-\u9fff]|[A-Za-z]{3}")


# Part of every CSConv pipeline version (csc.csconv.plan): change it whenever what these
# rules keep or reject changes, so stored outcomes made under the old rules are made again
# (their LLM answers come from the cache). 2026-11-30: the shared speaker table, labels in
# the text, the faithfulness check.
RULES_VERSION = "2026-11-30"


@dataclass(frozen=True)
class PostfilterConfig:
    """Bounds of step (c). The reference script's own check is a no-op by a bug; the paper
    says 10-50 utterances. Configurable because released dialogues have 7-45."""

    min_utterances: int = 10
    max_utterances: int = 50
    # Faithfulness floors per source language (docs/metrics.md): the share of the source's
    # terms that the rewrite must hold. 0 turns the score check off.
    faithful_zh: float = 0.20
    faithful_en: float = 0.30

    def faithful_threshold(self, language: str) -> float:
        return self.faithful_zh if language == "zh" else self.faithful_en

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> PostfilterConfig:
        """CSC_CSCONV_MIN_UTTERANCES / CSC_CSCONV_MAX_UTTERANCES, else the paper's bounds;
        CSC_CSCONV_FAITHFUL_ZH / CSC_CSCONV_FAITHFUL_EN, else the documented floors: from
        `settings`, else the validated current ones (csc.settings, which checks them)."""
        s = settings if settings is not None else current()
        return cls(s.csconv_min_utterances, s.csconv_max_utterances, s.csconv_faithful_zh,
                   s.csconv_faithful_en)


@dataclass
class CleanTurn:
    speaker: str  # customer | supporter
    text: str
    strategy_label: str | None
    strategy_id: int | None
    phase: str | None  # the strategy's usual conversation phase; column `stage`


@dataclass
class RuleOutcome:
    turns: list[CleanTurn] = field(default_factory=list)
    trimmed: int = 0  # trailing utterances dropped by step (a)
    labels_stripped: int = 0  # strategy labels taken out of turn texts
    faithfulness: float | None = None  # the score, when the source was given and judged
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


@dataclass
class _Turn:
    """A rewritten turn once a label written into its text is taken out."""

    role: str | None
    text: str
    label: str  # the turn's strategy field, or the text's label when the field is empty
    mismatch: str | None = None  # why the text's label and the turn's disagree
    stripped: int = 0


def _text_label(content: str) -> LabelResult | None:
    """The strategy(s) a bracket's content names, or None when it is ordinary text."""
    if not _NAMED.search(content):
        return None
    result = normalise_label(content)
    return result if result.ok or result.multi else None


def _strip_labels(text: str) -> tuple[str, list[tuple[str, LabelResult]]]:
    """`text` without the strategy labels at its start and end, and those labels."""
    found: list[tuple[str, LabelResult]] = []
    for pattern in (_LEADING, _BARE):
        m = pattern.match(text)
        if m and (result := _text_label(m.group(1))) is not None:
            found.append((m.group(1).strip(), result))
            text = text[m.end():]
            break
    m = _TRAILING.search(text)
    if m and (result := _text_label(m.group(1))) is not None:
        found.append((m.group(1).strip(), result))
        text = text[:m.start()]
    return text, found


def _names(ids: tuple[int, ...]) -> str:
    return " + ".join(BY_ID[i].name for i in ids)


def _read_turn(t: RewrittenTurn) -> _Turn:
    """Take a label out of the text and check it against the turn's (issue 11 A5): the same
    strategy is stripped; another one is a mismatch; a supporter turn with no label of its
    own takes the text's. On a customer turn a label is stripped and dropped: customers
    follow no strategy."""
    role = role_of(t.speaker)
    field = t.strategy.strip() if t.strategy else ""
    text, found = _strip_labels(t.text)
    out = _Turn(role, text, field, stripped=len(found))
    if not found or role != "supporter":
        return out
    if not field:
        out.label = found[0][0]
    own = normalise_label(out.label)
    if not own.ids:  # the turn's label does not map: the label steps below say why
        return out
    for written, result in found:
        if result.ids != own.ids:
            out.mismatch = (f"the text is labelled '{written[:40]}' ({_names(result.ids)}) but "
                            f"the turn's strategy is '{out.label[:40]}' ({_names(own.ids)})")
            break
    return out


def apply_rules(rewritten: list[RewrittenTurn], cfg: PostfilterConfig = PostfilterConfig(),
                source: list[tuple[str, str]] | None = None,
                language: str | None = None) -> RuleOutcome:
    """The rule steps over a rewrite; with `source` (the raw dialogue's (speaker, text) turns)
    and its `language`, a rewrite that passes every rule is also checked for faithfulness."""
    out = RuleOutcome()
    turns = [_read_turn(t) for t in rewritten]
    out.labels_stripped = sum(t.stripped for t in turns)
    while turns and has_system_note(turns[-1].text):  # (a)
        turns.pop()
        out.trimmed += 1
    n = len(turns)
    if not cfg.min_utterances <= n <= cfg.max_utterances:  # (c)
        out.step = "length"
        out.reason = f"{n} utterances, outside {cfg.min_utterances}-{cfg.max_utterances}"
        return out

    for i, (raw, t) in enumerate(zip(rewritten, turns, strict=False)):
        if t.role is None:
            out.step, out.reason = "speaker", f"turn {i}: unknown speaker '{raw.speaker[:20]}'"
            return out
        if t.mismatch:
            out.step, out.reason = "label_mismatch", f"turn {i}: {t.mismatch}"
            return out
        sid = phase = None
        if t.role == "supporter":
            result = normalise_label(t.label)
            if result.multi:  # (d)
                out.step, out.reason = "multi_strategy", f"turn {i}: '{t.label}' names " \
                    f"{len(result.ids)} strategies"
                return out
            if not result.ok:
                out.step, out.reason = "strategy_label", f"turn {i}: {result.error}"
                return out
            sid = result.id
            home = usual_phase(sid)
            phase = home.name.lower() if home else None
        out.turns.append(CleanTurn(t.role, t.text.strip(), t.label or None, sid, phase))

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
    if source is not None and language is not None:
        _check_faithful(out, source, language, cfg)
    return out


def _check_faithful(out: RuleOutcome, source: list[tuple[str, str]], language: str,
                    cfg: PostfilterConfig) -> None:
    """Issue 11 A6: a rewrite in another language than its source's, or holding too little of
    the source's content, is not a rewrite of it."""
    texts = [t.text for t in out.turns]
    written = language_of(texts)
    if written != language:
        out.step, out.reason = "unfaithful", f"the rewrite is in {written}, its source in " \
            f"{language}"
        return
    f = faithfulness(source, texts, language)
    out.faithfulness = f.score
    threshold = cfg.faithful_threshold(language)
    if not f.passes(threshold):
        out.step = "unfaithful"
        out.reason = (f"score {f.score:.2f} is under the {language} threshold {threshold:.2f}: "
                      f"{f.shared} of the source's {f.source_terms} {f.unit} are in the rewrite")
