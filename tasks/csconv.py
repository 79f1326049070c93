"""CSConv tasks: plan the pending work, then one task per batch of dialogues
(see csc.csconv.service for what a batch does and why it survives a crash)."""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from csc.csconv import plan as planning
from csc.csconv import service
from csc.csconv.plan import Batch
from csc.progress import Snapshot, llm_counts
from tasks.retries import retry_if_transient

log = logging.getLogger("csc.tasks")


class ArtifactProgress:
    """A batch's progress as a Prefect progress artifact, updated as the batch advances.

    The domain calls this hook (already throttled: every 5% or 2 s) from the batch's event
    loop; the API calls run on a helper thread, in order, so the LLM fan-out never waits for
    the Prefect server. The artifact is created in the task's own thread so it is linked to the
    task run. A Prefect API that fails costs a warning, never the batch.
    """

    def __init__(self, key: str, description: str) -> None:
        self.key = key
        self.artifact_id: UUID | None = None
        self._pool: ThreadPoolExecutor | None = None
        try:
            self.artifact_id = create_progress_artifact(0.0, key=key, description=description,
                                                        _sync=True)  # type: ignore[call-arg]
        except Exception as exc:
            log.warning("no progress artifact for %s: %s", key, exc)
            return
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="progress-artifact")
        self._context = contextvars.copy_context()  # the Prefect settings and client context

    def __call__(self, snap: Snapshot) -> None:
        if self._pool is not None:
            self._pool.submit(self._context.copy().run, self._push, snap.percent, snap.line())

    def _push(self, percent: float, line: str) -> None:
        try:
            update_progress_artifact(self.artifact_id, percent, description=line,
                                     _sync=True)  # type: ignore[call-arg]
        except Exception as exc:
            log.warning("progress artifact %s not updated: %s", self.key, exc)

    def close(self) -> None:
        """Wait for the last update (the final figures) to reach the server."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def batch_line(counts: dict) -> str:
    """'kept 80, rejected 15, dead 5; llm 120 calls (80 cached), $0.0123'."""
    return (f"kept {counts['kept']}, rejected {counts['rejected']}, dead {counts['dead']}; "
            f"llm {llm_counts(counts.get('llm'))}")


@task(name="csconv-plan")
def plan_batches(batch_size: int = 100, limit: int | None = None) -> list[Batch]:
    return planning.plan(batch_size, limit)


@task(name="csconv-batch", retries=1, retry_delay_seconds=10,
      retry_condition_fn=retry_if_transient)
def run_batch(batch: Batch, run_id: str, refresh: bool = False) -> dict:
    progress = ArtifactProgress(f"csconv-{batch.language}-progress",
                                f"CSConv {batch.language}: {len(batch.ids)} dialogues")
    try:
        counts = service.run_batch(batch, run_id, refresh, progress=progress)
    finally:
        progress.close()
    logger = get_run_logger()
    logger.info("csconv %s batch of %d: %s", batch.language, counts["input"], batch_line(counts))
    if counts["deferred"]:
        logger.warning("%d dialogues deferred: the run's LLM budget is spent; they are "
                       "processed on the next run", counts["deferred"])
    return counts
