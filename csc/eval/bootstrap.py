"""The dialogue bootstrap: how often each dialogue is drawn in each resample, and intervals.

Turns of one dialogue are not independent (one model, one customer, one history), so the
resampling unit is the dialogue. A resample is `n_dialogues` draws of dialogues with
replacement; it is stored as a (resamples x dialogues) count matrix, so any metric that is a
function of per-dialogue sums is one matrix product per resample set, not a Python loop.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95


def draw_counts(n_dialogues: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_dialogues) float64: how many times each dialogue is drawn per resample,
    from a seeded numpy Generator, so the same seed gives the same intervals."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_dialogues, size=(resamples, n_dialogues))
    offsets = (np.arange(resamples) * n_dialogues)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=resamples * n_dialogues)
    return counts.reshape(resamples, n_dialogues).astype(np.float64)


def percentile_interval(values: np.ndarray) -> tuple[float | None, float | None]:
    """The 95% percentile interval of resampled values (NaN resamples, where the metric is
    undefined, are left out); (None, None) when there is none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def ratio(counts: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """100 x sum(numerator) / sum(denominator) per resample, from per-dialogue sums."""
    num = counts @ numerator
    den = counts @ denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 100.0 * num / den, np.nan)
