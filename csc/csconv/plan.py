"""What a CSConv run has to do: the version that identifies a processed dialogue, and the
stages with items still pending (the CLI says "nothing pending" from this)."""

from __future__ import annotations

from csc.csconv.postfilter import PostfilterConfig
from csc.kit.ref import StageRef
from csc.llm.settings import LLMSettings


def pipeline_version(settings: LLMSettings, language: str, cfg: PostfilterConfig) -> str:
    """Identifies everything that shapes a CSConv dialogue of this language; a new value means
    the dialogue is processed again (its unchanged LLM calls come from the cache)."""
    from csc.csconv.stage import CsconvStage

    return CsconvStage(settings, cfg).version(language)


def csconv_stages() -> tuple[StageRef, ...]:
    """The LLM stages a csconv run runs, in order: the rewrite, then labels for the kept
    dialogues and for the raw ones (flows/csconv.py runs them; the CLI asks what is
    pending)."""
    from csc.csconv.annotate import AnnotationStage
    from csc.csconv.stage import CsconvStage

    return (CsconvStage.ref(), AnnotationStage.ref(kind="csconv"),
            AnnotationStage.ref(kind="raw"))


def anything_pending(limit: int | None = None) -> bool:
    """True when CSConv or an annotation stage has an item without an outcome."""
    from csc.kit.runner import plan

    return any(plan(ref.build(), limit=limit) for ref in csconv_stages())
