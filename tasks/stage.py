"""The two generic Prefect tasks every LLM stage runs on (plan, run a shard) and the flow
helper that chains them. The stage's logic is csc.kit and the stage's own module; this file
only adds Prefect: retries of transient failures, progress artifacts, log lines."""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from csc.kit.outcome import Counts
from csc.kit.ref import StageRef
from csc.kit.runner import Shard
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


def shard_line(counts: dict) -> str:
    """'kept 80, rejected 15, dead 5, deferred 0; llm 120 calls (80 cached), $0.0123'."""
    return (f"kept {counts['kept']}, rejected {counts['rejected']}, dead {counts['dead']}, "
            f"deferred {counts['deferred']}; llm {llm_counts(counts.get('llm'))}")


@task(name="plan-stage", task_run_name="plan-{stage.key}")
def plan_stage(stage: StageRef, shard_size: int = 1000, limit: int | None = None
               ) -> list[Shard]:
    from csc.kit.runner import plan

    return plan(stage.build(), shard_size, limit)


@task(name="run-shard", task_run_name="{shard.stage}-{shard.language}", retries=1,
      retry_delay_seconds=10, retry_condition_fn=retry_if_transient)
def run_shard(stage: StageRef, shard: Shard, run_id: str, refresh: bool = False,
              batch_size: int = 100) -> dict:
    from csc.kit import runner

    # an artifact key takes letters, digits and dashes: 'zh+en' is 'zh-en' there
    progress = ArtifactProgress(f"{shard.stage}-{shard.language.replace('+', '-')}-progress",
                                f"{shard.stage} {shard.language}: {len(shard.ids)} items")
    try:
        counts = runner.run_shard(stage.build(), shard, run_id, refresh=refresh,
                                  batch_size=batch_size, progress=progress).as_dict()
    finally:
        progress.close()
    logger = get_run_logger()
    logger.info("%s %s: %d items: %s", shard.stage, shard.language, counts["input"],
                shard_line(counts))
    if counts["deferred"]:
        logger.warning("%d items deferred: the run's LLM budget is spent; they are processed "
                       "on the next run", counts["deferred"])
    return counts


def run_stage(stage: StageRef, run_id: str, *, batch_size: int = 100,
              limit: int | None = None, refresh: bool = False, shard_size: int = 1000
              ) -> Counts:
    """Plan the stage's pending items and run every shard; the summed counts. The flow's one
    line per stage: `run_stage(CsconvStage.ref(), run_id)`."""
    shards = plan_stage(stage, shard_size, limit)
    return Counts.total(stage.key, [run_shard(stage, s, run_id, refresh, batch_size)
                                    for s in shards])
