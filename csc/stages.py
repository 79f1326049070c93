"""The runnable LLM stages, by key: what the flows, the CLI and the benchmarks name.

Each entry builds the stage for one run from the LLM settings; the settings are loaded for the
stage's roles only (schemas.llm.ROLES says which roles a stage calls). Imports are lazy, so the
CLI can list and plan stages without loading the LLM client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from csc.llm.settings import LLMSettings, load_settings

if TYPE_CHECKING:
    from csc.kit.stage import LLMStage


def _csconv(settings: LLMSettings) -> LLMStage:
    from csc.csconv.stage import CsconvStage

    return CsconvStage(settings)


def _annotation(kind: str) -> Callable[[LLMSettings], LLMStage]:
    def build(settings: LLMSettings) -> LLMStage:
        from csc.csconv.annotate import AnnotationStage

        return AnnotationStage(settings, kind)
    return build


# key -> (the LLM stage whose roles it calls, builder)
STAGES: dict[str, tuple[str, Callable[[LLMSettings], LLMStage]]] = {
    "csconv": ("csconv", _csconv),
    "annotate-csconv": ("annotate", _annotation("csconv")),
    "annotate-raw": ("annotate", _annotation("raw")),
}


def build_stage(key: str, settings: LLMSettings | None = None) -> LLMStage:
    """The stage `key` for one run (settings from the environment unless given)."""
    try:
        llm_stage, build = STAGES[key]
    except KeyError:
        raise ValueError(f"unknown stage {key!r}; known: {', '.join(STAGES)}") from None
    return build(settings or load_settings(stages=(llm_stage,)))
