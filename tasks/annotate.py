"""Independent annotation tasks and the label-agreement measure (csc.csconv.service)."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.csconv import plan as planning
from csc.csconv import service
from csc.progress import llm_counts, ratio
from tasks.csconv import ArtifactProgress
from tasks.retries import retry_if_transient


def agreement_line(overall: dict) -> str:
    """'label agreement over 500 turns: accuracy 0.981, kappa 0.979'."""
    return (f"label agreement over {overall['n']} turns: accuracy {ratio(overall['accuracy'])}, "
            f"kappa {ratio(overall['kappa'])}")


def annotation_line(counts: dict) -> str:
    """'annotate raw zh: 100 dialogues, 950 labels, dead 0; llm 100 calls (0 cached), $0.0042'."""
    return (f"annotate {counts['kind']} {counts['language']}: {counts['dialogues']} dialogues, "
            f"{counts['labels']} labels, dead {counts['dead']}; "
            f"llm {llm_counts(counts.get('llm'))}")


@task(name="annotate-plan")
def plan_annotation(kinds: tuple[str, ...] = ("csconv", "raw"), batch_size: int = 100,
                    limit: int | None = None) -> list[tuple[str, str, list[str]]]:
    return planning.plan_annotation(kinds, batch_size, limit)


@task(name="annotate-batch", retries=1, retry_delay_seconds=10,
      retry_condition_fn=retry_if_transient)
def annotate_batch(kind: str, language: str, ids: list[str], run_id: str,
                   refresh: bool = False) -> dict:
    progress = ArtifactProgress(f"annotate-{kind}-{language}-progress",
                                f"Annotation of {kind} {language}: {len(ids)} dialogues")
    try:
        counts = service.annotate_batch(kind, language, ids, run_id, refresh, progress=progress)
    finally:
        progress.close()
    logger = get_run_logger()
    logger.info("%s", annotation_line(counts))
    if counts["deferred"]:
        logger.warning("%d dialogues deferred: the run's LLM budget is spent; they are "
                       "labelled on the next run", counts["deferred"])
    return counts


@task(name="label-agreement")
def measure_agreement(run_id: str) -> dict:
    overall = service.measure_agreement(run_id)
    get_run_logger().info("%s", agreement_line(overall))
    return overall
