"""LLM plumbing tasks shared by every LLM stage."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.llm.endpoint import BANNER
from csc.llm.preflight import preflight
from csc.llm.settings import load_settings


@task(name="llm-preflight")
def llm_preflight(stages: tuple[str, ...] = ("csconv",)) -> dict:
    """Fail the DAG at once, with what to set, when no usable endpoint is configured for the
    roles of `stages` (schemas.llm.STAGE_ROLES); roles of other stages are not checked."""
    info = preflight(load_settings(stages=stages))
    logger = get_run_logger()
    if info["simulator"]:
        logger.warning(BANNER)
    logger.info("LLM endpoint %s serves %s", info["endpoint"], ", ".join(info["models"]))
    return info
