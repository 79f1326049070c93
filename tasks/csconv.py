"""CSConv tasks: plan the pending work, then one task per batch of dialogues
(see csc.csconv.service for what a batch does and why it survives a crash)."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.csconv import service
from csc.csconv.service import Batch


@task(name="csconv-plan")
def plan_batches(batch_size: int = 100, limit: int | None = None) -> list[Batch]:
    return service.plan(batch_size, limit)


@task(name="csconv-batch", retries=1, retry_delay_seconds=10)
def run_batch(batch: Batch, run_id: str, refresh: bool = False) -> dict:
    counts = service.run_batch(batch, run_id, refresh)
    logger = get_run_logger()
    logger.info("csconv %s batch of %d: kept %d, rejected %d, dead %d; llm %s", batch.language,
                counts["input"], counts["kept"], counts["rejected"], counts["dead"],
                counts["llm"])
    if counts["deferred"]:
        logger.warning("%d dialogues deferred: the run's LLM budget is spent; they are "
                       "processed on the next run", counts["deferred"])
    return counts
