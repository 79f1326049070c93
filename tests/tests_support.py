"""Locating the shared corpora; tests that need them skip cleanly when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPORA


def corpus_file(relative: str) -> Path:
    path = CORPORA / relative
    if not path.is_file():
        pytest.skip(f"../shared/corpora/{relative} is not present on this machine")
    return path
