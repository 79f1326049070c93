"""Label agreement between two annotators (the rewrite's own labels vs an independent one).

Accuracy and Cohen's kappa overall, and per strategy as one-vs-rest kappa, so analysts see
which strategies are labelled reliably and which are noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    n: int
    accuracy: float | None
    kappa: float | None


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa; None when undefined (no items, or chance agreement is 1)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca.keys() | cb.keys()) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def agreement(a: Sequence[int], b: Sequence[int]) -> Agreement:
    n = len(a)
    if n == 0:
        return Agreement(0, None, None)
    acc = sum(x == y for x, y in zip(a, b, strict=True)) / n
    return Agreement(n, acc, cohen_kappa(a, b))


def per_label(a: Sequence[int], b: Sequence[int], labels: Sequence[int]) -> dict[int, Agreement]:
    """One-vs-rest agreement per label: n is how often either side used the label."""
    out: dict[int, Agreement] = {}
    for label in labels:
        xa = [int(x == label) for x in a]
        xb = [int(y == label) for y in b]
        used = sum(1 for x, y in zip(xa, xb, strict=True) if x or y)
        hits = sum(1 for x, y in zip(xa, xb, strict=True) if x and y)
        out[label] = Agreement(used, hits / used if used else None, cohen_kappa(xa, xb))
    return out
