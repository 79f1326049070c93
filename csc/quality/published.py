"""Validate the published CSConv set with Great Expectations before anyone reads it."""

from __future__ import annotations

import pandas as pd

from csc.csconv.postfilter import PostfilterConfig
from csc.quality.checkpoint import CheckResult, run_checkpoint
from schemas.published import csconv_dialogues, csconv_utterances


def check_csconv(dialogues: pd.DataFrame, utterances: pd.DataFrame,
                 cfg: PostfilterConfig = PostfilterConfig()) -> CheckResult:
    return run_checkpoint("csconv", {
        "csconv_dialogues": (dialogues, csconv_dialogues(cfg.min_utterances,
                                                          cfg.max_utterances)),
        "csconv_utterances": (utterances, csconv_utterances()),
    })
