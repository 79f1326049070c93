"""Fine-tuned models join the evaluation's registry (issue: train -> evaluate).

Each job that succeeded adds one entry, named for its base and export, that remembers its base:
the report then sets the two side by side with the difference, like the paper's "+RoleCS"
rows. A model from an API provider is asked like its base (same endpoint, key variable,
temperature); a local one is the evaluation's classifier baseline learnt from the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from csc.eval.registry import ModelEntry
from csc.finetune.providers.local import NAME as LOCAL


def finetuned_entries(registry: list[ModelEntry], trained: Iterable[tuple]) -> list[ModelEntry]:
    """Entries for `trained` rows (provider, base model, export id, fine-tuned model, export
    folder); a model already in `registry` by name is not added twice. The base is found by
    registry name, else by the endpoint model it serves."""
    names = {e.name for e in registry}
    added: list[ModelEntry] = []
    for provider, base_model, _export_id, tuned, folder in trained:
        if tuned in names:
            continue
        base = next((e for e in registry if e.name == base_model), None) or next(
            (e for e in registry if e.model == base_model), None)
        base_name = base.name if base else base_model
        if provider == LOCAL:
            entry = ModelEntry(tuned, baseline="classifier", trained_on=str(Path(folder)),
                               base=base_name)
        elif base is not None and not base.is_baseline:
            entry = replace(base, name=tuned, model=tuned, base=base_name)
        else:
            entry = ModelEntry(tuned, model=tuned, base=base_name)
        names.add(tuned)
        added.append(entry)
    return added
