"""Independent annotation tasks and the label-agreement measure (csc.csconv.service)."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.csconv import service


@task(name="annotate-plan")
def plan_annotation(kinds: tuple[str, ...] = ("csconv", "raw"), batch_size: int = 100,
                    limit: int | None = None) -> list[tuple[str, str, list[str]]]:
    return service.plan_annotation(kinds, batch_size, limit)


@task(name="annotate-batch", retries=1, retry_delay_seconds=10)
def annotate_batch(kind: str, language: str, ids: list[str], run_id: str,
                   refresh: bool = False) -> dict:
    return service.annotate_batch(kind, language, ids, run_id, refresh)


@task(name="label-agreement")
def measure_agreement(run_id: str) -> dict:
    overall = service.measure_agreement(run_id)
    get_run_logger().info("label agreement over %d turns: accuracy %s, kappa %s",
                          overall["n"], overall["accuracy"], overall["kappa"])
    return overall
