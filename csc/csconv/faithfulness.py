"""Is a rewrite of its source? A cheap overlap floor, not a faithfulness metric.

A faithful CSConv rewrite keeps what the customer said and restyles the supporter (csc-method
§3.4), so most of the customer's content terms reappear somewhere in the rewrite. A rewrite of
another dialogue, an invented one, or one written in the other language shares little beyond
stock phrases. The score is the share of the source's customer terms found in the rewrite:

    score = |T(source customer turns) & T(rewrite)| / |T(source customer turns)|

When the customer turns hold fewer than MIN_TERMS terms, every source turn is used; when the
whole source holds fewer, the score is None and the check does not judge.

Terms, in the source's language:
- zh: character bigrams inside runs of Han characters (anything else ends a run, so no bigram
  spans two clauses); digits and Latin words are left out, since a translation keeps them;
- en: words of three letters or more, lower-cased, cut to their first five letters so
  'blocked'/'blocking'/'block' are one term.
Both drop a short stop list of what any support call says ('您好', '谢谢', 'customer',
'service', 'please'), and bracketed placeholders ('[手机号码]', '[PHONE]') are removed first:
after masking both sides have them, and they say nothing about which dialogue this is.

Thresholds and the evidence behind them: docs/metrics.md ("Faithfulness of a rewrite").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from csc.language import detect

# A placeholder is a short bracketed run without spaces: masked PII and the rewriter's own.
_PLACEHOLDER = re.compile(r"[\[【][^\[\]【】\s]{1,24}[\]】]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_WORD = re.compile(r"[a-z]+")
_STEM = 5
# Words so common in support calls of any topic that sharing them proves nothing.
_EN_STOP = frozenset({
    "about", "after", "again", "all", "also", "and", "any", "are", "because", "been", "before",
    "being", "but", "can", "could", "did", "does", "doing", "don", "done", "for", "from", "get",
    "got", "had", "has", "have", "having", "her", "here", "hers", "him", "his", "how", "into",
    "its", "just", "know", "let", "like", "may", "might", "more", "most", "much", "must",
    "need", "not", "now", "off", "once", "only", "other", "our", "out", "over", "please",
    "really", "same", "she", "should", "some", "such", "than", "thank", "thanks", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "too", "under", "until",
    "very", "was", "way", "well", "were", "what", "when", "where", "which", "while", "who",
    "why", "will", "with", "would", "yes", "you", "your", "yours", "hello", "okay", "sure",
    "sorry", "help", "today", "call", "customer", "service", "phone", "number", "problem",
    "time", "message", "account", "system", "support", "contact", "check", "name", "issue",
    "tell", "right", "still",
})
# Bigrams any support call holds, whatever it is about (greetings, thanks, 'what', 'already').
_ZH_STOP = frozenset({
    "客服", "您好", "你好", "您的", "你们", "我们", "什么", "问题", "没有", "已经", "服务", "谢谢",
    "感谢", "谢您", "一下", "可以", "好的", "这样", "就是", "现在", "知道", "处理", "请问", "请您",
    "为您", "怎么", "解决", "提供", "这个", "不是", "一个", "如果", "还是", "需要", "帮您", "麻烦",
    "时候", "但是", "因为",
})
# Fewer source terms than this and the score means little: the check does not judge.
MIN_TERMS = 8


def _fold(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), lower case, placeholders removed."""
    return _PLACEHOLDER.sub(" ", unicodedata.normalize("NFKC", text).lower())


def terms(texts: Iterable[str], language: str) -> frozenset[str]:
    """The terms of a dialogue's texts in `language` ('zh': bigrams; otherwise words)."""
    out: set[str] = set()
    for text in texts:
        folded = _fold(text)
        if language == "zh":
            for run in _HAN_RUN.findall(folded):
                out.update(g for g in (run[i:i + 2] for i in range(len(run) - 1))
                           if g not in _ZH_STOP)
        else:
            out.update(w[:_STEM] for w in _EN_WORD.findall(folded)
                       if len(w) >= 3 and w not in _EN_STOP)
    return frozenset(out)


def language_of(texts: Iterable[str]) -> str:
    """'zh' or 'en' as ingest detects a dialogue's language (csc.language), placeholders
    left out: a Chinese '[手机号码]' copied into an English rewrite does not make it Chinese."""
    return detect(_PLACEHOLDER.sub(" ", "\n".join(texts)))


@dataclass(frozen=True)
class Faithfulness:
    score: float | None  # None: the source has too few terms to judge
    source_terms: int
    shared: int
    unit: str  # what a term is, for messages

    def passes(self, threshold: float) -> bool:
        return self.score is None or self.score >= threshold


def faithfulness(source: list[tuple[str, str]], rewrite: Iterable[str],
                 language: str) -> Faithfulness:
    """How much of the source's customer content reappears in the rewrite (terms of
    `language`, the source's: a rewrite in the other language shares almost none). The
    customer's words are what a rewrite keeps; when they hold too few terms to judge, every
    source turn is used."""
    unit = "character bigrams" if language == "zh" else "words"
    src = terms((t for s, t in source if s == "customer"), language)
    if len(src) < MIN_TERMS:
        src = terms((t for _, t in source), language)
    if len(src) < MIN_TERMS:
        return Faithfulness(None, len(src), 0, unit)
    shared = len(src & terms(rewrite, language))
    return Faithfulness(shared / len(src), len(src), shared, unit)
