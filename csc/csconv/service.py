"""CSConv runs against the warehouse, without Prefect: plan the pending work, run one batch.

A batch reads its dialogues, releases the warehouse while its LLM calls run (each answer is
durable in the gateway's journal the moment it arrives), then writes every outcome in one
short transaction. A crash mid-batch writes nothing; the rerun finds the answers cached.
The Prefect tasks (tasks/csconv.py) and the benchmark call these.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import polars as pl

from csc.csconv.annotate import Target, agreement_rows, annotate
from csc.csconv.plan import ANNOTATE_STAGE, STAGE, Batch
from csc.csconv.postfilter import PostfilterConfig
from csc.csconv.rows import outcome_rows
from csc.csconv.stage import SourceDialogue, process_batch
from csc.llm.endpoint import gateway, open_journal
from csc.llm.gateway import LLMGateway
from csc.llm.run import run_with_gateway
from csc.llm.settings import LLMSettings, load_settings
from csc.progress import BatchProgress, ProgressHook, TerminalProgress
from schemas.csconv import CsconvDialogue, CsconvUtterance
from warehouse.csconv_store import (
    agreement_pairs,
    target_turns,
    write_agreement,
    write_annotations,
    write_outcomes,
)
from warehouse.db import connect
from warehouse.llm_store import sync_journal

T = TypeVar("T")


def _validated(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Hold kept rows to the contracts before they are written (raises on a bug)."""
    if tables["csconv.dialogues"]:
        CsconvDialogue.validate(pl.DataFrame(tables["csconv.dialogues"]))
        CsconvUtterance.validate(pl.DataFrame(tables["csconv.utterances"],
                                              schema_overrides={"strategy_id": pl.Int64}))
    return tables


def _progress(label: str, total: int, unit: str, hook: ProgressHook | None) -> BatchProgress:
    """A batch's progress on the terminal, and through the caller's hook (tasks/ adds a
    Prefect progress artifact)."""
    hooks: list[ProgressHook] = [TerminalProgress()]
    if hook is not None:
        hooks.append(hook)
    return BatchProgress(label, total, unit=unit, hooks=hooks)


async def _keep_stats(gw: LLMGateway, into: dict, work: Awaitable[T]) -> T:
    """Await the work, then copy the gateway's hit/miss/cost counters for the summary."""
    result = await work
    s = gw.stats
    into.update(calls=s.calls, cache_hits=s.cache_hits, cache_misses=s.cache_misses,
                dead=s.dead, cost_usd=round(s.cost_usd, 6))
    return result


def run_batch(batch: Batch, run_id: str, refresh: bool = False,
              settings: LLMSettings | None = None, progress: ProgressHook | None = None) -> dict:
    """Process one batch end to end; returns its counts (kept, rejected, dead, deferred...).

    Progress (dialogues done, rate, ETA, LLM cost so far) goes to the terminal and to
    `progress`, throttled."""
    settings = settings or load_settings(stages=(STAGE,))
    with connect() as con:
        turns = target_turns(con, "raw", batch.ids)
        areas = dict(con.sql("SELECT dialogue_id, business_area FROM raw.dialogues WHERE "
                             "dialogue_id IN (SELECT unnest(?::VARCHAR[]))",
                             params=[batch.ids]).fetchall())
    dialogues = [SourceDialogue(i, batch.language, areas.get(i), turns[i]) for i in batch.ids
                 if i in turns]
    used: dict = {}
    cfg = PostfilterConfig.from_env()
    with open_journal(settings) as journal:
        with _progress(f"csconv {batch.language}", len(dialogues), "dialogues",
                       progress) as tracker:
            result = run_with_gateway(
                lambda: gateway(settings, journal, run_id=run_id, stage=STAGE,
                                refresh=refresh),
                lambda gw: _keep_stats(gw, used,
                                       process_batch(gw, dialogues, cfg, tracker.bind(gw.stats))))
        tables = _validated(outcome_rows(result.outcomes, {batch.language: batch.version},
                                         areas, run_id))
        with connect() as con:
            written = write_outcomes(con, tables)
            sync_journal(con, journal)
    counts = {s: result.count(s) for s in ("kept", "rejected", "dead", "deferred")}
    return counts | {"input": len(dialogues), "written": written, "llm": used}


# -- independent annotation --------------------------------------------------------------------

def annotate_batch(kind: str, language: str, ids: list[str], run_id: str,
                   refresh: bool = False, progress: ProgressHook | None = None) -> dict:
    """Label one batch; progress goes to the terminal and to `progress`, like run_batch."""
    settings = load_settings(stages=(ANNOTATE_STAGE,))
    with connect() as con:
        turns = target_turns(con, kind, ids)
    targets = [Target(kind, i, language, turns[i]) for i in ids if i in turns]
    used: dict = {}
    with open_journal(settings) as journal:
        with _progress(f"annotate {kind} {language}", len(targets), "dialogues",
                       progress) as tracker:
            rows, dead, deferred = run_with_gateway(
                lambda: gateway(settings, journal, run_id=run_id, stage=ANNOTATE_STAGE,
                                refresh=refresh),
                lambda gw: _keep_stats(gw, used,
                                       annotate(gw, targets, run_id, tracker.bind(gw.stats))))
        with connect() as con:
            written = write_annotations(con, rows)
            sync_journal(con, journal)
    return {"kind": kind, "language": language, "dialogues": len(targets), "labels": written,
            "dead": dead, "deferred": deferred, "llm": used}


def measure_agreement(run_id: str) -> dict:
    """Agreement of the rewrite's labels with the annotator's, stored for this run."""
    with connect() as con:
        rows = agreement_rows(agreement_pairs(con))
        write_agreement(con, rows, run_id)
    return rows[0]
