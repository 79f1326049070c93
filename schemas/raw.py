"""Contracts for the raw layer: what a dialogue and an utterance must look like to be stored."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.split import split_valid


class RawDialogue(pa.DataFrameModel):
    """One ingested dialogue; dialogue_id is the content key."""

    dialogue_id: str = pa.Field(str_matches=r"^[0-9a-f]{32}$", unique=True)
    source: str = pa.Field(str_length={"min_value": 1})
    source_dialogue_id: str = pa.Field(nullable=True)
    source_file: str
    record_no: int = pa.Field(ge=1)
    line_no: int = pa.Field(nullable=True)
    language: str = pa.Field(isin=["zh", "en"])
    business_area: str = pa.Field(nullable=True)
    n_utterances: int = pa.Field(ge=1)
    n_lines_in: int = pa.Field(ge=1)
    n_empty_dropped: int = pa.Field(ge=0)
    n_skipped: int = pa.Field(ge=0)
    pii_masked: int = pa.Field(ge=0)

    class Config:
        strict = "filter"  # extra working columns are dropped, not an error


class RawUtterance(pa.DataFrameModel):
    """One merged utterance: consecutive lines of a speaker are already joined."""

    dialogue_id: str = pa.Field(str_matches=r"^[0-9a-f]{32}$")
    utt_index: int = pa.Field(ge=0)
    speaker: str = pa.Field(isin=["customer", "supporter"])
    text: str = pa.Field(str_length={"min_value": 1})
    n_chars: int = pa.Field(ge=1)
    strategy_label: str = pa.Field(nullable=True)
    # Lengths of the raw lines merged into this utterance (the §3.2 rules count raw lines).
    source_line_chars: pl.List(pl.Int32) = pa.Field()  # type: ignore[valid-type]

    class Config:
        strict = "filter"
        unique = ("dialogue_id", "utt_index")

    @pa.dataframe_check(error="source_line_chars is empty or holds a line of 0 characters")
    def _lines_present(cls, data) -> pl.LazyFrame:
        lines = pl.col("source_line_chars")
        return data.lazyframe.select(
            (lines.list.len() >= 1) & (lines.list.min() >= 1))


def validate_raw(dialogues: pl.DataFrame, utterances: pl.DataFrame
                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Valid dialogues and utterances, and (dialogue_id, check, reason) for every failure.

    A dialogue with any failing utterance fails whole: a half-stored dialogue would change
    what every later stage sees.
    """
    good_d, bad_d = split_valid(RawDialogue, dialogues, "dialogue_id")
    good_u, bad_u = split_valid(RawUtterance, utterances, "dialogue_id")
    bad = pl.concat([bad_d, bad_u]).unique("dialogue_id", keep="first", maintain_order=True)
    if bad.height:
        good_d = good_d.join(bad, on="dialogue_id", how="anti")
        good_u = good_u.join(bad, on="dialogue_id", how="anti")
    return good_d, good_u, bad
