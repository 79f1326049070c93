"""The evaluation metrics of a prediction frame, with 95% bootstrap intervals by dialogue.

Pure Python (numpy, scikit-learn, sacrebleu, rapidfuzz): no Prefect, no warehouse, so the
prediction stage, the report and the tests all call the same `evaluate` and `compare`.

Speed: every metric is first reduced to per-dialogue sums (`_RunStats`); a resample is a row
of dialogue draw counts, so all resamples of a ratio metric are one matrix product. Formulas
and tokenisation are documented in docs/metrics.md ("Evaluation metrics (csc/eval)").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from csc.eval import bleu
from csc.eval.bertscore import bertscore
from csc.eval.bootstrap import draw_counts, percentile_interval, ratio
from csc.eval.text import distinct_counts, tokens, turn_rouge_l
from csc.eval.types import (
    HEADLINE,
    NOT_COMPUTED,
    PREDICTION_SCHEMA,
    Comparison,
    Evaluation,
    MetricValue,
    StrategyScore,
)
from csc.framework import BY_ID, usual_phase

N_STRATEGIES = 12
FAILED = 0  # the label of a turn whose strategy could not be read
COMPARABLE = ("acc", "macro_f1", "stage_acc", "bleu2", "bleu4", "rouge_l", "resp_len",
              "parse_failures")
# Headline metrics shown without an interval, and why. Distinct-n counts n-gram types over the
# whole run: a bootstrap resample draws dialogues with replacement, and a duplicated dialogue
# adds n-grams but never a new type, so every resample is less "distinct" than the run itself.
# On bench/metrics.py's 25,000 turns distinct-2 is 36.7 while 100 resamples, recomputed one by
# one, all fell between 25.2 and 26.6: a percentile interval would not even contain the value.
NO_INTERVAL = {
    "bertscore": "no bootstrap: one model pass per resample would be far too slow",
    "distinct1": "no bootstrap: resampling dialogues with replacement duplicates text, which "
                 "lowers distinct-n in every resample (the interval would miss the value)",
}
NO_INTERVAL["distinct2"] = NO_INTERVAL["distinct1"]
_NULLABLE = {"pred_strategy", "pred_text"}
_ALLOWED = {"language": {"zh", "en"}, "parse_status": {"ok", "failed"}}
# Phase code per label: -1 failed (matches nothing), 0 Others (matches only Others), else phase.
_PHASE_CODE = np.array([-1] + [int(usual_phase(s) or 0) for s in range(1, N_STRATEGIES + 1)])


def validate(frame: pl.DataFrame) -> None:
    """Raise ValueError naming the first column that is missing, mistyped or out of range."""
    for name, dtype in PREDICTION_SCHEMA.items():
        if name not in frame.columns:
            raise ValueError(f"prediction frame: missing column {name!r}")
        actual = frame.schema[name]
        if actual != dtype and not (name in _NULLABLE and actual == pl.Null):
            raise ValueError(f"prediction frame: column {name!r} is {actual}, expected {dtype}")
        if name not in _NULLABLE and frame[name].null_count():
            raise ValueError(f"prediction frame: column {name!r} has nulls")
    for name, allowed in _ALLOWED.items():
        bad = set(frame[name].unique().to_list()) - allowed
        if bad:
            raise ValueError(f"prediction frame: column {name!r} has {sorted(bad)}, "
                             f"expected one of {sorted(allowed)}")
    for name in ("gold_strategy", "pred_strategy"):
        values = frame[name].drop_nulls()
        if len(values) and (values.min() < 1 or values.max() > N_STRATEGIES):
            raise ValueError(f"prediction frame: column {name!r} must hold strategy ids 1-12")
    if frame.select(pl.struct("dialogue_id", "turn").is_duplicated().any()).item():
        raise ValueError("prediction frame: a (dialogue_id, turn) pair appears twice")


@dataclass(frozen=True)
class _RunStats:
    """Per-turn labels (for scikit-learn) and per-dialogue sums (for the bootstrap)."""

    gold: np.ndarray  # (turns,) 1-12
    pred: np.ndarray  # (turns,) 1-12, or FAILED
    refs: list[str]
    replies: list[str]  # '' for a failed reply
    turns: np.ndarray  # every array below: (dialogues,) or (dialogues, k)
    sums: dict[str, np.ndarray]  # correct, stage, failed, rouge, length
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    bleu: np.ndarray
    distinct: dict[int, tuple[int, int]]  # order: (different n-grams, n-grams), whole run


def _prepare(frame: pl.DataFrame, timings: dict[str, float]) -> _RunStats:
    """Reduce a validated, non-empty frame to _RunStats (dialogues in sorted id order)."""
    t0 = time.perf_counter()
    frame = frame.sort("dialogue_id", "turn").with_columns(
        (pl.col("dialogue_id").rank("dense") - 1).alias("_d"))
    d = frame["_d"].to_numpy().astype(np.int64)
    n_dialogues = int(d.max()) + 1
    status_failed = (frame["parse_status"] == "failed").to_numpy()
    gold = frame["gold_strategy"].to_numpy().astype(np.int64)
    pred = frame["pred_strategy"].fill_null(FAILED).to_numpy().astype(np.int64)
    pred[status_failed] = FAILED
    reply_failed = status_failed | frame["pred_text"].is_null().to_numpy()
    refs = frame["gold_text"].to_list()
    replies = ["" if f else t for f, t in zip(reply_failed, frame["pred_text"].to_list(),
                                              strict=True)]
    languages = frame["language"].to_list()

    def per_dialogue(x: np.ndarray) -> np.ndarray:
        return np.bincount(d, weights=x, minlength=n_dialogues).astype(np.float64)

    def per_label(mask: np.ndarray, label: np.ndarray) -> np.ndarray:
        cells = d[mask] * N_STRATEGIES + label[mask] - 1
        return np.bincount(cells, minlength=n_dialogues * N_STRATEGIES).reshape(
            n_dialogues, N_STRATEGIES).astype(np.float64)

    correct = pred == gold
    stage = (pred != FAILED) & (_PHASE_CODE[gold] == _PHASE_CODE[pred])
    timings["labels"] = timings.get("labels", 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    reply_tokens = [tokens(t, lang) for t, lang in zip(replies, languages, strict=True)]
    rouge = np.array([turn_rouge_l(r, p, lang)
                      for r, p, lang in zip(refs, replies, languages, strict=True)])
    timings["rouge"] = timings.get("rouge", 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    bleu_stats = bleu.sentence_stats(replies, refs, languages)
    bleu_sums = np.stack([per_dialogue(bleu_stats[:, j]) for j in range(bleu.N_STATS)], axis=1)
    timings["bleu_stats"] = timings.get("bleu_stats", 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    distinct = {n: distinct_counts(reply_tokens, n) for n in (1, 2)}
    timings["distinct"] = timings.get("distinct", 0.0) + time.perf_counter() - t0
    return _RunStats(
        gold=gold, pred=pred, refs=refs, replies=replies,
        turns=per_dialogue(np.ones(len(d))),
        sums={"correct": per_dialogue(correct), "stage": per_dialogue(stage),
              "failed": per_dialogue(status_failed), "rouge": per_dialogue(rouge),
              "length": per_dialogue(np.array([len(t) for t in reply_tokens], dtype=float))},
        tp=per_label(correct, gold), fn=per_label(~correct, gold),
        fp=per_label(~correct & (pred != FAILED), pred),
        bleu=bleu_sums, distinct=distinct)


_RATIOS = {"acc": ("correct", 1.0), "stage_acc": ("stage", 1.0),
           "parse_failures": ("failed", 1.0), "rouge_l": ("rouge", 1.0),
           "resp_len": ("length", 0.01)}  # resp_len: a mean length, not a percentage


def _resampled(stats: _RunStats, name: str, counts: np.ndarray) -> np.ndarray:
    """Metric `name` for each row of dialogue draw counts (a row of ones = the whole run)."""
    if name in _RATIOS:
        key, scale = _RATIOS[name]
        return scale * ratio(counts, stats.sums[key], stats.turns)
    if name in ("bleu2", "bleu4"):
        return bleu.bleu_from_stats(counts @ stats.bleu, int(name[-1]))
    if name == "macro_f1":
        tp, fp, fn = counts @ stats.tp, counts @ stats.fp, counts @ stats.fn
        seen = (tp + fp + fn) > 0  # labels in gold or prediction of this resample
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(seen, 2 * tp / (2 * tp + fp + fn), 0.0)
            return 100.0 * f1.sum(axis=1) / seen.sum(axis=1)
    raise ValueError(f"unknown metric {name!r}; known: {', '.join(COMPARABLE)}")


def _labels(stats: _RunStats) -> list[int]:
    """Strategies 1-12 that occur in gold or prediction (the macro-F1 label set)."""
    return sorted((set(stats.gold.tolist()) | set(stats.pred.tolist())) - {FAILED})


def _point(stats: _RunStats, name: str) -> float | None:
    """The metric over the whole run: sacrebleu for BLEU, scikit-learn for macro-F1."""
    if name in ("bleu2", "bleu4"):
        return bleu.bleu_point(stats.bleu.sum(axis=0), int(name[-1]))
    if name in ("distinct1", "distinct2"):
        different, total = stats.distinct[int(name[-1])]
        return 100.0 * different / total if total else None
    if name == "macro_f1":
        from sklearn.metrics import f1_score  # ~1 s import: only when evaluating

        return 100.0 * float(f1_score(stats.gold, stats.pred, labels=_labels(stats),
                                      average="macro", zero_division=0))
    return float(_resampled(stats, name, np.ones((1, len(stats.turns))))[0])


def evaluate(frame: pl.DataFrame, *, resamples: int = 1000, seed: int = 0,
             bertscore_model: str | None = None,
             timings: dict[str, float] | None = None) -> Evaluation:
    """Every headline metric (x100; resp_len in characters/words) with a 95% percentile
    bootstrap interval over dialogues (`resamples` draws, seeded; 0: no intervals), plus
    per-strategy scores, the confusion matrix and accuracy per gold phase. `timings`, when
    given, receives seconds per part (bench/metrics.py)."""
    validate(frame)
    timings = {} if timings is None else timings
    if frame.height == 0:
        empty = {name: MetricValue(name, None, status=f"{NOT_COMPUTED}: no turns")
                 for name in HEADLINE}
        return Evaluation(headline=empty, per_strategy=[],
                          confusion=[[0] * (N_STRATEGIES + 1) for _ in range(N_STRATEGIES)])
    stats = _prepare(frame, timings)
    n = len(stats.gold)
    t0 = time.perf_counter()
    counts = draw_counts(len(stats.turns), resamples, seed) if resamples > 0 else None
    headline: dict[str, MetricValue] = {}
    for name in HEADLINE:
        if name == "bertscore":
            continue
        t1 = time.perf_counter()
        value = _point(stats, name)
        low = high = None
        if counts is not None and value is not None and name not in NO_INTERVAL:
            low, high = percentile_interval(_resampled(stats, name, counts))
        status = "computed" if value is not None else f"{NOT_COMPUTED}: no n-grams in the replies"
        headline[name] = MetricValue(name, value, low, high, n=n, status=status)
        timings[f"metric_{name}"] = time.perf_counter() - t1
    timings["bootstrap_total"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    headline["bertscore"] = bertscore(stats.refs, stats.replies, bertscore_model)
    timings["bertscore"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_strategy, confusion = _strategy_tables(stats)
    timings["tables"] = time.perf_counter() - t0
    return Evaluation(headline={name: headline[name] for name in HEADLINE},
                      per_strategy=per_strategy, confusion=confusion,
                      phase_accuracy=_phase_accuracy(stats))


def _strategy_tables(stats: _RunStats) -> tuple[list[StrategyScore], list[list[int]]]:
    """Per-strategy P/R/F1 (x100) and the 12 x 13 confusion matrix, by scikit-learn."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = _labels(stats)
    p, r, f, s = precision_recall_fscore_support(stats.gold, stats.pred, labels=labels,
                                                 zero_division=0)
    scores = [StrategyScore(label, 100.0 * float(pi), 100.0 * float(ri), 100.0 * float(fi),
                            int(si)) for label, pi, ri, fi, si in zip(labels, p, r, f, s,
                                                                      strict=True)]
    matrix = confusion_matrix(stats.gold, stats.pred, labels=list(range(N_STRATEGIES + 1)))
    confusion = [[int(x) for x in row[1:]] + [int(row[FAILED])] for row in matrix[1:]]
    return scores, confusion


def _phase_accuracy(stats: _RunStats) -> dict[str, float]:
    """Strategy accuracy (x100) per gold phase name; gold Others turns under 'others'."""
    names = {s: (usual_phase(s).name.lower() if usual_phase(s) else "others") for s in BY_ID}
    out: dict[str, list[int]] = {}
    for g, p in zip(stats.gold.tolist(), stats.pred.tolist(), strict=True):
        tally = out.setdefault(names[g], [0, 0])
        tally[0] += g == p
        tally[1] += 1
    return {name: 100.0 * right / total for name, (right, total) in out.items()}


def compare(a: pl.DataFrame, b: pl.DataFrame,
            metrics: Sequence[str] = ("acc", "macro_f1", "bleu2", "bleu4", "rouge_l"), *,
            resamples: int = 1000, seed: int = 0) -> dict[str, Comparison]:
    """Run a minus run b on each metric over the turns both predicted, with a paired
    bootstrap: the same dialogue draws score both runs, so their difference's interval is
    narrower than two separate intervals suggest. Significant when it excludes 0.
    resamples=0: no interval (NaN bounds), never significant; no turn in common: all NaN."""
    unknown = [m for m in metrics if m not in COMPARABLE]
    if unknown:
        raise ValueError(f"cannot compare {unknown}; comparable: {', '.join(COMPARABLE)}")
    validate(a)
    validate(b)
    keys = a.select("dialogue_id", "turn").join(b.select("dialogue_id", "turn"),
                                                on=["dialogue_id", "turn"])
    if keys.height == 0:  # nothing to pair: no difference to report, rather than a crash
        nan = float("nan")
        return {name: Comparison(name, nan, nan, nan, significant=False) for name in metrics}
    timings: dict[str, float] = {}
    sa = _prepare(a.join(keys, on=["dialogue_id", "turn"]), timings)
    sb = _prepare(b.join(keys, on=["dialogue_id", "turn"]), timings)
    counts = draw_counts(len(sa.turns), resamples, seed) if resamples > 0 else None
    out = {}
    for name in metrics:
        pa, pb = _point(sa, name), _point(sb, name)
        diff = float("nan") if pa is None or pb is None else pa - pb
        low = high = None
        if counts is not None:
            low, high = percentile_interval(_resampled(sa, name, counts)
                                            - _resampled(sb, name, counts))
        low = float("nan") if low is None else low
        high = float("nan") if high is None else high
        out[name] = Comparison(name, diff, low, high, significant=low > 0 or high < 0)
    return out
