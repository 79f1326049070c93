"""The metrics of the LLM judges' judgements (csc/eval/judge_turns.py,
csc/eval/judge_pairwise.py): the mean 1-5 scores and the win rate against the reference model,
with bootstrap intervals by dialogue. Pure functions, read by csc/eval/service.py; definitions
in docs/metrics.md ("LLM-judge scores and win rate").
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from csc.eval.bootstrap import draw_counts, percentile_interval, ratio
from csc.eval.types import NOT_COMPUTED, MetricValue

SCORES = ("resolution", "empathy", "appropriateness")
JUDGE_METRICS = (*(f"judge_{s}" for s in SCORES), "win_rate")


def judge_metrics(scores: pl.DataFrame, verdicts: pl.DataFrame, *, is_reference: bool,
                  resamples: int, seed: int) -> dict[str, MetricValue]:
    """judge_<score> (the mean 1-5 score over the judged turns) and win_rate (x100: wins plus
    half the ties over the compared turns), each with a 95% bootstrap interval resampled by
    dialogue; 'not computed: <why>' when there is nothing to compute them on."""
    out: dict[str, MetricValue] = {}
    judged = scores.filter(pl.col("status") == "ok") if len(scores) else scores
    for s in SCORES:
        name = f"judge_{s}"
        if not len(judged):
            out[name] = MetricValue(name, None, status=f"{NOT_COMPUTED}: no judged turns")
            continue
        sums, ns = _per_dialogue(judged, pl.col(s).cast(pl.Float64))
        counts = draw_counts(len(ns), resamples, seed)
        low, high = percentile_interval(ratio(counts, sums, ns) / 100.0)
        out[name] = MetricValue(name, float(sums.sum() / ns.sum()), low, high,
                                n=int(ns.sum()))
    compared = verdicts.filter(pl.col("status").is_in(["ok", "forfeit"])) \
        if len(verdicts) else verdicts
    if is_reference:
        out["win_rate"] = MetricValue("win_rate", None,
                                      status=f"{NOT_COMPUTED}: this is the reference model")
    elif not len(compared):
        out["win_rate"] = MetricValue(
            "win_rate", None, status=f"{NOT_COMPUTED}: no turn compared with the reference")
    else:
        points = (pl.when(pl.col("verdict") == "model").then(1.0)
                  .when(pl.col("verdict") == "tie").then(0.5).otherwise(0.0))
        sums, ns = _per_dialogue(compared, points)
        counts = draw_counts(len(ns), resamples, seed)
        low, high = percentile_interval(ratio(counts, sums, ns))
        out["win_rate"] = MetricValue("win_rate", float(100.0 * sums.sum() / ns.sum()), low,
                                      high, n=int(ns.sum()))
    return out


def _per_dialogue(frame: pl.DataFrame, value: pl.Expr) -> tuple[np.ndarray, np.ndarray]:
    """(sum of `value`, number of turns) per dialogue: the bootstrap's resampling unit."""
    per = (frame.group_by("dialogue_id", maintain_order=True)
           .agg(value.sum().alias("sum"), pl.len().alias("n")))
    return per["sum"].to_numpy().astype(np.float64), per["n"].to_numpy().astype(np.float64)


def judgement_fingerprint(scores: pl.DataFrame, verdicts: pl.DataFrame) -> str:
    """What the judge metrics are computed on, as a hash: any new or changed judgement or
    verdict changes it."""
    blob = scores.write_csv() + "\x1e" + verdicts.write_csv()
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
