"""Validate the published CSConv set with Great Expectations before anyone reads it."""

from __future__ import annotations

import pandas as pd

from csc.csconv.postfilter import PostfilterConfig
from csc.quality.checkpoint import CheckResult, run_checkpoint
from schemas.published import csconv_dialogues, csconv_utterances

# What must never be published unmasked: the personal numbers and addresses ingest masks.
# URLs (a company's own site) and @handles (masked or not by CSC_PII_MASK_HANDLES) are left
# out, so a reply that names the bank's website is not a failure.
GATE_PII_KINDS = ("email", "id_card", "bank_card", "phone")


def add_unmasked_pii(frame: pd.DataFrame, languages: pd.Series | str = "zh",
                     text: str = "text") -> pd.DataFrame:
    """`frame` with an `unmasked_pii` column: NULL where csc.pii finds nothing to mask in
    `text`, else the text as masking would leave it (so a failure shows where, never what).

    The same detection as ingest (csc.pii.mask_frame), so the gate and the masking agree:
    "[PHONE]", "[手机号码]" and the other placeholders are masked text, not PII."""
    import polars as pl

    from csc.pii import mask_frame

    langs = [languages] * len(frame) if isinstance(languages, str) else \
        languages.fillna("zh").astype(str).tolist()
    probe = pl.DataFrame({"text": frame[text].fillna("").astype(str).tolist(), "language": langs},
                         schema={"text": pl.String, "language": pl.String})
    masked = mask_frame(probe, kinds=GATE_PII_KINDS)
    found = [t if n else None for t, n in zip(masked["text"].to_list(),
                                               masked["pii_masked"].to_list(), strict=True)]
    return frame.assign(unmasked_pii=pd.Series(found, index=frame.index, dtype=object))


def csconv_frames(dialogues: pd.DataFrame, utterances: pd.DataFrame
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published frames as the suites read them: utterances get the PII column, read in
    their dialogue's language."""
    if "unmasked_pii" not in utterances.columns:
        language = dict(zip(dialogues["csconv_id"], dialogues["language"], strict=True))
        utterances = add_unmasked_pii(utterances, utterances["csconv_id"].map(language))
    return dialogues, utterances


def check_csconv(dialogues: pd.DataFrame, utterances: pd.DataFrame,
                 cfg: PostfilterConfig = PostfilterConfig()) -> CheckResult:
    dialogues, utterances = csconv_frames(dialogues, utterances)
    return run_checkpoint("csconv", {
        "csconv_dialogues": (dialogues, csconv_dialogues(cfg.min_utterances,
                                                          cfg.max_utterances)),
        "csconv_utterances": (utterances, csconv_utterances()),
    })
