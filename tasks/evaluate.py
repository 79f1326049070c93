"""The evaluation steps that are not an LLM stage: the offline baselines' predictions, the
metrics of every run whose predictions changed, and the report."""

from __future__ import annotations

import re

from prefect import get_run_logger, task

from csc.eval import baseline_run, service
from csc.eval.registry import ModelEntry
from csc.finetune.registered import finetuned_entries
from csc.progress import TerminalProgress
from tasks.stage import ArtifactProgress
from warehouse import finetune_store
from warehouse.db import connect


def with_finetuned(registry: list[ModelEntry]) -> list[ModelEntry]:
    """The registry and, after it, every model a fine-tune job produced (finetune.jobs)."""
    with connect(read_only=True) as con:
        trained = finetune_store.trained_models(con)
    return registry + finetuned_entries(registry, trained)


@task(name="baseline-predict")
def predict_baseline(entry: ModelEntry, setting: str, limit: int | None = None) -> dict:
    """An offline baseline over the pending CSConv dialogues (no LLM)."""
    key = re.sub(r"[^a-z0-9-]+", "-", f"baseline-{entry.name}-{setting}".lower())
    hooks = [TerminalProgress(), ArtifactProgress(f"{key}-progress",
                                                  f"{entry.name} ({setting}): dialogues")]
    counts = baseline_run.run_baseline(entry, setting, limit=limit, hooks=hooks)
    logger = get_run_logger()
    if "skipped" in counts:
        logger.warning("baseline %s (%s) skipped: %s", entry.name, setting, counts["skipped"])
    else:
        logger.info("baseline %s (%s): %d dialogues, %d turns predicted", entry.name, setting,
                    counts["predicted"], counts["turns"])
    return counts


@task(name="eval-metrics")
def compute_metrics() -> dict:
    """Metrics (with bootstrap intervals) of every run whose predictions changed, then the
    significance of the leaderboard's neighbours."""
    done = service.refresh_metrics()
    get_run_logger().info("metrics: %d runs computed, %d already current, %d comparisons",
                          len(done["computed"]), done["current"], done["compared"])
    return done


@task(name="eval-report")
def publish_eval_report() -> dict:
    """The offline HTML report (<output dir>/reports/eval.html) and the leaderboard as a
    Markdown artifact."""
    from prefect.artifacts import create_markdown_artifact

    path, markdown = service.write_eval_report()
    create_markdown_artifact(markdown, key="eval-leaderboard",
                             description="Evaluation leaderboard (csc-method §5)")
    get_run_logger().info("evaluation report: %s", path)
    return {"report": str(path)}
