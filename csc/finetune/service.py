"""The trigger run once: count what is new, decide, build and write the export when it is due,
and record the decision (docs/finetune.md). The command line calls it now; the nightly flow
will, once the providers' jobs exist.

The folder is written first and atomically (built under a temporary name, then renamed to
<output dir>/finetune/<export_id>/); the warehouse rows follow in one transaction. A crash
between the two leaves a folder and no row: the rerun builds the same export id, finds no row,
and writes the folder again in place of the orphan.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import duckdb

from csc.finetune.export import (
    Dialogue,
    Export,
    ExportConfig,
    NothingToExport,
    Turn,
    build_export,
)
from csc.finetune.formats import FORMATS
from csc.finetune.trigger import START, Decision, gate, is_news, nothing_to_export, verdict
from csc.settings import current
from warehouse import finetune_store as store
from warehouse.db import connect, output_dir


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    path: Path | None = None  # the export's folder (start, already_exported)
    export: Export | None = None  # the export written (start only)


def settings_config(formats: Sequence[str] = FORMATS) -> ExportConfig:
    """The export's knobs from the settings (CSC_FINETUNE_*)."""
    s = current()
    return ExportConfig(formats=tuple(formats), max_tokens=s.finetune_max_tokens,
                        validation_share=s.finetune_validation_share, seed=s.finetune_seed)


def dialogues_of(rows: Iterable[tuple]) -> list[Dialogue]:
    """Dialogues from the store's (dialogue_id, language, utt_index, speaker, strategy_id,
    text) rows, grouped in their order."""
    found = []
    for (dialogue_id, language), turns in groupby(rows, key=lambda r: (r[0], r[1])):
        found.append(Dialogue(dialogue_id, language,
                              tuple(Turn(r[3], r[4], r[5]) for r in turns)))
    return found


def write_folder(export: Export, root: Path) -> Path:
    """Write the export's files and manifest under root/<export_id>/, atomically: a reader
    sees the whole folder or none. An orphan folder of the same id (a crash before the rows
    were recorded) is replaced; its content was the same by construction."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / export.export_id
    tmp = root / f".{export.export_id}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, text in {**export.files, "manifest.json": json.dumps(
            export.manifest(), ensure_ascii=False, indent=1) + "\n"}.items():
        (tmp / name).write_text(text, encoding="utf-8")
    if final.exists():
        old = root / f".{export.export_id}.old-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final


def run_trigger(*, force: bool = False, formats: Sequence[str] = FORMATS,
                run_id: str | None = None, db: Path | None = None,
                config: ExportConfig | None = None, threshold: int | None = None) -> Outcome:
    """Decide whether an export is due, make it if so, and record the decision with its
    reason when it is news (trigger.is_news: a repeat of the newest decision is not). Never
    writes an export whose id exists."""
    config = config or settings_config(formats)
    threshold = current().finetune_min_new_dialogues if threshold is None else threshold
    with connect(db) as con:
        new = store.new_dialogues(con)
        decision = gate(new, threshold, force)
        if decision is not None:
            _record(con, decision, run_id)
            return Outcome(decision)
        try:
            export = build_export(dialogues_of(store.accepted_turns(con)), config)
        except NothingToExport as exc:
            decision = nothing_to_export(new, threshold, force, str(exc))
            _record(con, decision, run_id)
            return Outcome(decision)
        earlier = store.export_of(con, export.export_id)
        decision = verdict(new, threshold, force, export.export_id,
                           earlier[0] if earlier else None)
        if decision.decision != START:
            _record(con, decision, run_id)
            return Outcome(decision, Path(earlier[1]) if earlier else None)
        path = write_folder(export, output_dir() / "finetune")
        store.record_export(con, export.row(str(path)),
                            [{"export_id": export.export_id, "dialogue_id": p.dialogue_id,
                              "split": p.split, "reason": p.reason,
                              "kept_turns": p.kept_turns, "truncated": p.truncated}
                             for p in export.placements],
                            decision.row(run_id))
        return Outcome(decision, path, export)


def _record(con: duckdb.DuckDBPyConnection, decision: Decision, run_id: str | None) -> None:
    """A decision that wrote nothing, recorded only when it says something the newest row
    does not (docs/finetune.md, "The trigger")."""
    if is_news(decision, store.latest_decision(con)):
        store.record_decision(con, decision.row(run_id))
