"""Metrics for every run whose predictions changed, and the significance of the leaderboard's
neighbours. A run's metrics are recomputed only when the fingerprint of its predictions over
the current CSConv set differs from the one they were computed on, so a rerun on unchanged
data writes nothing."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from csc.eval.types import Evaluation
from csc.settings import current
from warehouse import eval_store
from warehouse.db import connect, query_dicts

COMPARED = ("acc", "macro_f1", "bleu2", "bleu4", "rouge_l")
SEED = 0
BERTSCORE_ENV = "CSC_BERTSCORE_MODEL"


def metric_rows(run_key: str, ev: Evaluation, fingerprint: str, n_turns: int) -> list[dict]:
    """An Evaluation as eval.metrics rows (see sql/migrations/016_eval.sql)."""
    base = {"run_key": run_key, "strategy_id": 0, "predicted_id": 0, "phase": "",
            "n_turns": n_turns, "fingerprint": fingerprint, "ci_low": None, "ci_high": None,
            "status": "computed"}
    rows = [{**base, "metric": m.name, "value": m.value, "ci_low": m.ci_low,
             "ci_high": m.ci_high, "status": m.status} for m in ev.headline.values()]
    for s in ev.per_strategy:
        for metric in ("precision", "recall", "f1", "support"):
            rows.append({**base, "metric": metric, "strategy_id": s.strategy_id,
                         "value": float(getattr(s, metric))})
    for g, counts in enumerate(ev.confusion, start=1):
        for p, n in enumerate(counts, start=1):
            if n:
                rows.append({**base, "metric": "confusion", "strategy_id": g,
                             "predicted_id": p, "value": float(n)})
    for phase, value in ev.phase_accuracy.items():
        rows.append({**base, "metric": "phase_acc", "phase": phase, "value": value})
    return rows


def refresh_metrics(*, db: Path | None = None, resamples: int | None = None) -> dict:
    """Compute what is stale; {'computed': [run keys], 'current': n, 'compared': n}."""
    from csc.eval.metrics import compare, evaluate  # numpy, sklearn, sacrebleu: when needed

    resamples = current().eval_resamples if resamples is None else resamples
    bertscore = os.environ.get(BERTSCORE_ENV) or None
    computed: list[str] = []
    up_to_date = 0
    with connect(db) as con:
        frames = {}
        for key, *_ in eval_store.runs(con):
            now, n, stored = eval_store.fingerprints(con, key)
            if n == 0:
                continue
            if now == stored:
                up_to_date += 1
                continue
            frames[key] = frame = eval_store.run_frame(con, key)
            ev = evaluate(frame, resamples=resamples, seed=SEED, bertscore_model=bertscore)
            eval_store.replace_metrics(con, key, metric_rows(key, ev, now, n))
            computed.append(key)
        compared = 0
        if computed:  # the order or a neighbour's predictions changed
            rows = []
            for a, b in neighbours(con):
                fa = frames.get(a) if a in frames else eval_store.run_frame(con, a)
                fb = frames.get(b) if b in frames else eval_store.run_frame(con, b)
                for metric, c in compare(fa, fb, COMPARED, resamples=resamples,
                                         seed=SEED).items():
                    rows.append({"run_key_a": a, "run_key_b": b, "metric": metric,
                                 "diff": c.diff, "ci_low": c.ci_low, "ci_high": c.ci_high,
                                 "significant": c.significant})
            compared = eval_store.replace_comparisons(con, rows) if rows else 0
    return {"computed": computed, "current": up_to_date, "compared": compared}


def neighbours(con) -> list[tuple[str, str]]:
    """Adjacent runs of each setting's leaderboard (by accuracy), best first."""
    rows = query_dicts(con, "SELECT setting, run_key, rank FROM marts.leaderboard "
                            "ORDER BY setting, rank")
    return [(a["run_key"], b["run_key"]) for a, b in itertools.pairwise(rows)
            if a["setting"] == b["setting"]]


