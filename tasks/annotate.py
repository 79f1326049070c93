"""Independent annotation tasks and the label-agreement measure."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.csconv.annotate import Target, agreement_rows, annotate
from csc.llm.endpoint import gateway, open_journal
from csc.llm.run import run_with_gateway
from csc.llm.settings import load_settings
from csc.prompts import load_prompt
from schemas.llm import Role
from warehouse.csconv_store import (
    agreement_pairs,
    annotation_pending,
    target_turns,
    write_agreement,
    write_annotations,
)
from warehouse.db import connect
from warehouse.llm_store import sync_journal

STAGE = "annotate"


@task(name="annotate-plan")
def plan_annotation(kinds: tuple[str, ...] = ("csconv", "raw"), batch_size: int = 100,
                    limit: int | None = None) -> list[tuple[str, str, list[str]]]:
    """(kind, language, ids) batches with no label under the current annotator version."""
    settings = load_settings()
    model = settings.role(Role.ANNOTATOR).model
    out = []
    with connect() as con:
        for kind in kinds:
            for lang in ("zh", "en"):
                version = load_prompt(Role.ANNOTATOR, lang).version
                ids = annotation_pending(con, kind, lang, version, model, limit)
                out += [(kind, lang, ids[i:i + batch_size])
                        for i in range(0, len(ids), batch_size)]
    return out


@task(name="annotate-batch", retries=1, retry_delay_seconds=10)
def annotate_batch(kind: str, language: str, ids: list[str], run_id: str,
                   refresh: bool = False) -> dict:
    settings = load_settings()
    with connect() as con:
        turns = target_turns(con, kind, ids)
    targets = [Target(kind, i, language, turns[i]) for i in ids if i in turns]
    with open_journal(settings) as journal:
        rows, dead, deferred = run_with_gateway(
            lambda: gateway(settings, journal, run_id=run_id, stage=STAGE, refresh=refresh),
            lambda gw: annotate(gw, targets, run_id))
        with connect() as con:
            written = write_annotations(con, rows)
            sync_journal(con, journal)
    return {"kind": kind, "dialogues": len(targets), "labels": written, "dead": dead,
            "deferred": deferred}


@task(name="label-agreement")
def measure_agreement(run_id: str) -> dict:
    with connect() as con:
        rows = agreement_rows(agreement_pairs(con))
        write_agreement(con, rows, run_id)
    overall = rows[0]
    get_run_logger().info("label agreement over %d turns: accuracy %s, kappa %s",
                          overall["n"], overall["accuracy"], overall["kappa"])
    return overall
