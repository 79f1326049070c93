"""When a checkpoint's verdict still holds: for the same published set, the same post-filter
bounds and the same suites. `csc export` then reuses it instead of importing and running
Great Expectations again (seconds, for a set the nightly run has just checked)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from csc.csconv.postfilter import PostfilterConfig

# The suites' definition: any edit to them makes every earlier verdict stale.
SUITES = Path(__file__).resolve().parents[2] / "schemas" / "published.py"


def fingerprint(published_digest: str, cfg: PostfilterConfig) -> str:
    suites = hashlib.sha256(SUITES.read_bytes()).hexdigest()
    key = f"{published_digest}|{cfg.min_utterances}|{cfg.max_utterances}|{suites}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]
