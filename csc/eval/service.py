"""Metrics for every run whose predictions changed, and the significance of the leaderboard's
neighbours. A run's metrics are recomputed only when the fingerprint of its predictions over
the current CSConv set differs from the one they were computed on, so a rerun on unchanged
data writes nothing."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from csc.eval.report import ReportData, RunReport
from csc.eval.types import Comparison, Evaluation, MetricValue, StrategyScore
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
        for key, model, *_ in eval_store.runs(con):
            now, n, stored = eval_store.fingerprints(con, key)
            if n == 0:
                continue
            judged = judgements(con, key)  # LLM judges: their rows are part of the fingerprint
            now = judged_fingerprint(now, judged)
            if now == stored:
                up_to_date += 1
                continue
            frames[key] = frame = eval_store.run_frame(con, key)
            ev = evaluate(frame, resamples=resamples, seed=SEED, bertscore_model=bertscore)
            rows = metric_rows(key, ev, now, n)
            rows += judge_metric_rows(key, model, judged, now, resamples)
            eval_store.replace_metrics(con, key, rows)
            computed.append(key)
        compared = 0
        if computed:  # the order or a neighbour's predictions changed
            rows = []
            for a, b in neighbours(con):
                # a run in the middle of a setting's board is in two pairs: read it once
                for k in (a, b):
                    if k not in frames:
                        frames[k] = eval_store.run_frame(con, k)
                fa, fb = frames[a], frames[b]
                for metric, c in compare(fa, fb, COMPARED, resamples=resamples,
                                         seed=SEED).items():
                    rows.append({"run_key_a": a, "run_key_b": b, "metric": metric,
                                 "diff": c.diff, "ci_low": c.ci_low, "ci_high": c.ci_high,
                                 "significant": c.significant})
            compared = eval_store.replace_comparisons(con, rows) if rows else 0
    return {"computed": computed, "current": up_to_date, "compared": compared}


# ---- LLM-judge metrics (csc/eval/judge_metrics.py): judge_* scores and win_rate ------------

def judgements(con, run_key: str) -> tuple:
    """(turn judgements, pairwise verdicts) of a run, as the judge metrics read them."""
    return eval_store.judge_scores(con, run_key), eval_store.judge_verdicts(con, run_key)


def judged_fingerprint(predictions: str, judged: tuple) -> str:
    """The predictions' fingerprint with the judgements': new judgements mean new metrics."""
    from csc.eval.judge_metrics import judgement_fingerprint

    return f"{predictions}+{judgement_fingerprint(*judged)}"


def judge_metric_rows(run_key: str, model: str, judged: tuple, fingerprint: str,
                      resamples: int) -> list[dict]:
    """eval.metrics headline rows judge_resolution, judge_empathy, judge_appropriateness and
    win_rate; n_turns is the turns each was computed over."""
    from csc.eval.judge_metrics import judge_metrics

    values = judge_metrics(*judged, is_reference=model == current().eval_reference_model,
                           resamples=resamples, seed=SEED)
    return [{"run_key": run_key, "metric": m.name, "strategy_id": 0, "predicted_id": 0,
             "phase": "", "value": m.value, "ci_low": m.ci_low, "ci_high": m.ci_high,
             "n_turns": m.n, "status": m.status, "fingerprint": fingerprint}
            for m in values.values()]


def neighbours(con) -> list[tuple[str, str]]:
    """Adjacent runs of each setting's leaderboard (by accuracy), best first."""
    rows = query_dicts(con, "SELECT setting, run_key, rank FROM marts.leaderboard "
                            "ORDER BY setting, rank")
    return [(a["run_key"], b["run_key"]) for a, b in itertools.pairwise(rows)
            if a["setting"] == b["setting"]]




def report_data(con, generated_at: str) -> ReportData:
    """The report's runs rebuilt from the warehouse (eval.metrics, eval.comparisons), so the
    report can be regenerated at any time without computing anything again."""
    runs, metrics, comparisons = eval_store.report_rows(con)
    by_run: dict[str, list[dict]] = {}
    for m in metrics:
        by_run.setdefault(m["run_key"], []).append(m)
    out = []
    for r in runs:
        vs_next = {c["metric"]: Comparison(c["metric"], c["diff"], c["ci_low"], c["ci_high"],
                                           c["significant"])
                   for c in comparisons
                   if c["run_key_a"] == r["run_key"] and c["run_key_b"] == r["next_run_key"]}
        out.append(RunReport(r["run_key"], r["model"], r["kind"], r["setting"], "csconv",
                             r["n_turns"], evaluation_from(by_run.get(r["run_key"], [])),
                             vs_next, base=r["base_model"]))
    return ReportData(out, generated_at, dataset_note="CSConv, the current set "
                                                      "(marts.csconv_current)")


def evaluation_from(rows: list[dict]) -> Evaluation:
    """An Evaluation from its eval.metrics rows (the inverse of `metric_rows`)."""
    headline: dict[str, MetricValue] = {}
    per: dict[int, dict[str, float]] = {}
    confusion = [[0] * 13 for _ in range(12)]
    phases: dict[str, float] = {}
    for m in rows:
        if m["metric"] == "confusion":
            confusion[m["strategy_id"] - 1][m["predicted_id"] - 1] = int(m["value"])
        elif m["phase"]:
            phases[m["phase"]] = m["value"]
        elif m["strategy_id"]:
            per.setdefault(m["strategy_id"], {})[m["metric"]] = m["value"]
        else:
            headline[m["metric"]] = MetricValue(m["metric"], m["value"], m["ci_low"],
                                                m["ci_high"], m["n_turns"], m["status"])
    strategies = [StrategyScore(sid, v.get("precision", 0.0), v.get("recall", 0.0),
                                v.get("f1", 0.0), int(v.get("support", 0)))
                  for sid, v in sorted(per.items())]
    return Evaluation(headline, strategies, confusion, phases)


def write_eval_report(db: Path | None = None) -> tuple[Path, str]:
    """<output dir>/reports/eval.html from the warehouse as it stands, and the leaderboard as
    Markdown; `csc report` and the flow both call this."""
    from datetime import UTC, datetime

    from csc.eval.report_html import write_report
    from csc.eval.report_markdown import render_markdown
    from warehouse.db import output_dir

    with connect(db, read_only=True) as con:
        data = report_data(con, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    path = write_report(data, output_dir() / "reports" / "eval.html")
    return path, render_markdown(data)
