"""Character n-gram overlap between texts: a crude, language-neutral "shares content" test.

Character n-grams need no tokeniser, so the same measure works for Chinese (no spaces) and
English. Texts are compared as *sets* of n-grams after lower-casing and collapsing runs of
whitespace to one space, so repetition and spacing do not count. A text may be one string or
several (the turns of a dialogue): n-grams never span two pieces, so how turns are joined or
split does not matter, only what each one says.

    containment(part, whole) = |G(part) & G(whole)| / |G(part)|   how much of `part` is in `whole`
    jaccard(a, b)            = |G(a) & G(b)| / |G(a) | G(b)|      symmetric

Both are 0.0 when a side has no n-gram (every piece shorter than n): nothing shared.
A floor for faithfulness tests, not a faithfulness metric: a verbatim copy scores 1.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPACE = re.compile(r"\s+")

Text = str | Iterable[str]


def ngrams(text: Text, n: int = 2) -> frozenset[str]:
    """The character n-grams of `text` (or of each of its pieces), lower-cased, whitespace
    runs as one space."""
    if n < 1:
        raise ValueError("n must be at least 1")
    out: set[str] = set()
    for piece in [text] if isinstance(text, str) else text:
        norm = _SPACE.sub(" ", piece.lower()).strip()
        out.update(norm[i:i + n] for i in range(len(norm) - n + 1))
    return frozenset(out)


def containment(part: Text, whole: Text, n: int = 2) -> float:
    """Share of `part`'s n-grams that also occur in `whole` (0.0 when `part` has none)."""
    p = ngrams(part, n)
    if not p:
        return 0.0
    return len(p & ngrams(whole, n)) / len(p)


def jaccard(a: Text, b: Text, n: int = 2) -> float:
    """Shared n-grams over all n-grams of either text (0.0 when either has none)."""
    ga, gb = ngrams(a, n), ngrams(b, n)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)
