"""What a CSConv run has to do, worked out cheaply: the versions that identify a processed
dialogue, and the dialogues and turns still without an outcome or a label.

Kept apart from the batch code so that `csc run csconv` can say "nothing pending" without
importing the LLM client, the contracts or Prefect (a second or more on a small machine).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from csc.csconv.postfilter import RULES_VERSION, PostfilterConfig
from csc.llm.settings import LLMSettings, load_settings
from csc.prompts import load_prompt
from schemas.llm import Role
from warehouse.csconv_store import annotation_pending, pending
from warehouse.db import connect

STAGE, ANNOTATE_STAGE = "csconv", "annotate"
ROLES = (Role.PREFILTER_JUDGE, Role.REWRITER, Role.POSTFILTER_JUDGE)
LANGUAGES = ("zh", "en")


def pipeline_version(settings: LLMSettings, language: str, cfg: PostfilterConfig) -> str:
    """Identifies everything that shapes a CSConv dialogue of this language; a new value means
    the dialogue is processed again (its unchanged LLM calls come from the cache)."""
    parts = [load_prompt(r, language).version + "|" + settings.role(r).model for r in ROLES]
    parts.append(f"{cfg.min_utterances}-{cfg.max_utterances}")
    parts.append(f"faithful>={cfg.faithful_threshold(language)}|rules={RULES_VERSION}")
    return f"csconv-{language}-" + hashlib.sha256("||".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Batch:
    language: str
    version: str
    ids: list[str]


def plan(batch_size: int = 100, limit: int | None = None,
         settings: LLMSettings | None = None) -> list[Batch]:
    """The dialogues with no outcome under the current pipeline version, in batches."""
    settings = settings or load_settings(stages=(STAGE,))
    cfg = PostfilterConfig.from_env()
    batches: list[Batch] = []
    with connect() as con:
        for lang in LANGUAGES:
            version = pipeline_version(settings, lang, cfg)
            ids = pending(con, lang, version, limit)
            batches += [Batch(lang, version, ids[i:i + batch_size])
                        for i in range(0, len(ids), batch_size)]
    return batches


# -- independent annotation ---------------------------------------------------------------------


def plan_annotation(kinds: tuple[str, ...] = ("csconv", "raw"), batch_size: int = 100,
                    limit: int | None = None) -> list[tuple[str, str, list[str]]]:
    """(kind, language, ids) batches with no label under the current annotator version."""
    settings = load_settings(stages=(ANNOTATE_STAGE,))
    model = settings.role(Role.ANNOTATOR).model
    out = []
    with connect() as con:
        for kind in kinds:
            for lang in LANGUAGES:
                version = load_prompt(Role.ANNOTATOR, lang).version
                ids = annotation_pending(con, kind, lang, version, model, limit)
                out += [(kind, lang, ids[i:i + batch_size])
                        for i in range(0, len(ids), batch_size)]
    return out
