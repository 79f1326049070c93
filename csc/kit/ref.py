"""A stage named by where its class lives, so a flow names a stage once and nothing else has to
register it: the Prefect tasks receive the reference and build the stage in their own run."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csc.kit.stage import LLMStage
    from csc.llm.settings import LLMSettings


@dataclass(frozen=True)
class StageRef:
    """`path` is "module:Class"; `options` are the class's keyword arguments (plain strings,
    so the reference is a readable Prefect task parameter)."""

    key: str  # the stage's key (LLMStage.key): run names, shards, the journal
    path: str
    options: tuple[tuple[str, str], ...] = ()

    def build(self, settings: LLMSettings | None = None) -> LLMStage:
        """The stage for one run; settings from the environment, for its roles, unless
        given."""
        from csc.llm.settings import load_settings

        module, _, name = self.path.partition(":")
        cls = getattr(importlib.import_module(module), name)
        return cls(settings or load_settings(roles=cls.roles), **dict(self.options))
