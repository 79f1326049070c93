"""Near-duplicate RoleCS dialogues and scenarios: character shingles -> MinHash -> LSH.

Diversity is what fine-tuning buys, so a dialogue (its full text) or a scenario (the planner's
scenario and goal) that nearly repeats an EARLIER one is marked, with the id of the one it
repeats, and leaves the accepted set (marts.rolecs_accepted). Earlier means created first, ties
broken by id, so the first of a group is kept and every later one is marked.

- **Shingles: characters, not words.** Chinese has no spaces, and a word segmenter would be
  one more model with its own errors; characters work the same in both languages. The size
  is per language (`SHINGLE_SIZE`): 3 for Chinese, where a character is about a morpheme and
  three cover a word and a bit (2-character shingles such as 您好 or 请问 occur in every
  support dialogue and would pull unrelated texts together); 5 for English, about a word and
  its boundary. Text is NFKC-normalised, case-folded, and each run of whitespace is one space.
- **Threshold: 0.8** (`THRESHOLD`) Jaccard similarity of the shingle sets: a text of which at
  most a fifth of its shingles differ, as when a few words or a turn change and the rest is
  copied. Dialogues that share a template but differ in their content score well below it.
- **MinHash and LSH** (datasketch; `NUM_PERM` permutations, fixed `SEED`, so the result is
  the same on every run and machine) only *find* the candidates: the LSH bands are chosen so
  that a pair at the threshold becomes a candidate with probability at least `RECALL`; the
  MinHash estimate then drops candidates far below the threshold (`ESTIMATE_MARGIN` = 0.15,
  over four standard deviations of a 128-permutation estimate at 0.8). **The mark is decided
  on the exact Jaccard of the two shingle sets**, which is also the similarity recorded: the
  number is never an estimate, and a pair marked is at or above the threshold.
- Cost: signatures are not stored, so a check hashes every text of the warehouse again (about
  3 ms for a dialogue of 1,500 characters: some 35 s at 11k dialogues); only the new ones are
  looked up in the index.
- A text is compared with earlier texts of the same language and kind. When several earlier
  ones are at or above the threshold, the most similar is recorded (ties: the earliest).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

THRESHOLD = 0.8
SHINGLE_SIZE = {"zh": 3, "en": 5}
DEFAULT_SHINGLE = 4  # a language not named above (none today)
NUM_PERM = 128
SEED = 1
RECALL = 0.999  # a pair exactly at the threshold is a candidate at least this often
ESTIMATE_MARGIN = 0.15

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Text:
    """One text to check: a dialogue's, or a scenario's, under the dialogue's id."""

    id: str
    created_at: Any  # anything that sorts: a datetime, an ISO string
    language: str
    text: str

    @property
    def order(self) -> tuple[Any, str]:
        return (self.created_at, self.id)


@dataclass(frozen=True)
class NearDuplicate:
    id: str
    duplicate_of: str
    similarity: float  # the exact Jaccard of the two shingle sets


def normalise(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def shingles(text: str, language: str) -> frozenset[str]:
    """The text's character k-grams (k by language); a text shorter than k is one shingle;
    an empty text has none (it is never a near-duplicate)."""
    k = SHINGLE_SIZE.get(language, DEFAULT_SHINGLE)
    t = normalise(text)
    if not t:
        return frozenset()
    if len(t) <= k:
        return frozenset((t,))
    return frozenset(t[i:i + k] for i in range(len(t) - k + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def bands(threshold: float, num_perm: int = NUM_PERM, recall: float = RECALL
          ) -> tuple[int, int]:
    """(bands, rows per band) of an LSH index: the most rows per band (fewest false
    candidates) with which a pair at `threshold` still collides in some band with
    probability >= `recall`. For 0.8 and 128 permutations: 25 bands of 5 rows."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if 1 - (1 - threshold ** r) ** b >= recall:
            best = (b, r)
    return best


@cache
def _permutations() -> Any:
    """The seeded permutations, drawn once (every signature must use the same)."""
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations


def _signature(sh: frozenset[str]) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32", permutations=_permutations())
    m.update_batch([s.encode("utf-8") for s in sh])  # order-free: a minimum per permutation
    return m


def find_near_duplicates(texts: Iterable[Text], new: Iterable[str] | None = None,
                         threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """The texts of `new` (default: all) that are near-duplicates of an earlier text of
    `texts`, in the order they were created. Every text of `texts` serves as an earlier one,
    checked before or not, so a run over new texts only gives what a run over all would give
    for them."""
    ordered = sorted(texts, key=lambda t: t.order)
    todo = {t.id for t in ordered} if new is None else set(new)
    last = max((i for i, t in enumerate(ordered) if t.id in todo), default=-1)
    b, r = bands(threshold)
    indexes: dict[str, MinHashLSH] = {}
    seen: dict[str, tuple[frozenset[str], MinHash, tuple[Any, str]]] = {}
    found: list[NearDuplicate] = []
    for t in ordered[:last + 1]:  # texts after the last new one are never an earlier one
        sh = shingles(t.text, t.language)
        if not sh:
            continue
        sig = _signature(sh)
        if t.language not in indexes:
            indexes[t.language] = MinHashLSH(num_perm=NUM_PERM, params=(b, r))
        index = indexes[t.language]
        if t.id in todo:
            best = _best_match(sh, sig, index.query(sig), seen, threshold)
            if best is not None:
                found.append(NearDuplicate(t.id, best[0], best[1]))
        if t.id not in seen:  # an id given twice counts once, as its first text
            index.insert(t.id, sig)
            seen[t.id] = (sh, sig, t.order)
    return found


def _best_match(sh: frozenset[str], sig: MinHash, candidates: Sequence[str],
                seen: dict, threshold: float) -> tuple[str, float] | None:
    best: tuple[float, tuple[Any, str]] | None = None
    for cid in candidates:
        other, other_sig, order = seen[cid]
        estimate = float(np.mean(sig.hashvalues == other_sig.hashvalues))
        if estimate < threshold - ESTIMATE_MARGIN:
            continue
        sim = jaccard(sh, other)
        if sim >= threshold and (best is None or (-sim, order) < (-best[0], best[1])):
            best = (sim, order)
    return None if best is None else (best[1][1], best[0])
