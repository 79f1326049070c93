"""What a CSConv run has to do: the version that identifies a processed dialogue, and the
stages with items still pending (the CLI says "nothing pending" from this)."""

from __future__ import annotations

from csc.csconv.postfilter import PostfilterConfig
from csc.llm.settings import LLMSettings
from csc.stages import build_stage

ANNOTATION_STAGES = ("annotate-csconv", "annotate-raw")


def pipeline_version(settings: LLMSettings, language: str, cfg: PostfilterConfig) -> str:
    """Identifies everything that shapes a CSConv dialogue of this language; a new value means
    the dialogue is processed again (its unchanged LLM calls come from the cache)."""
    from csc.csconv.stage import CsconvStage

    return CsconvStage(settings, cfg).version(language)


def anything_pending(limit: int | None = None) -> bool:
    """True when CSConv or an annotation stage has an item without an outcome."""
    from csc.kit.runner import plan

    return any(plan(build_stage(key), limit=limit)
               for key in ("csconv", *ANNOTATION_STAGES))
