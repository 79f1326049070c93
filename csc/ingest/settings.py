"""Ingest settings read from the environment, checked once before a run writes anything."""

from __future__ import annotations

from csc import pii
from csc.rules import RuleConfig


def check_settings() -> None:
    """Raise ConfigError (one line, naming the variable) for a bad CSC_RULES_* threshold or
    CSC_PII_MASK_HANDLES value, so a run is refused at once rather than at its first batch."""
    RuleConfig.from_env()
    pii.handles_enabled()
