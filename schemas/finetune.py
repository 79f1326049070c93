"""Contracts of the finetune tables written by the export service (finetune.jobs is filled by a
later part and gets its contract then)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

HASH16 = r"^[0-9a-f]{16}$"


class FinetuneExport(pa.DataFrameModel):
    export_id: str = pa.Field(str_matches=HASH16, unique=True)
    format_version: str
    n_dialogues: int = pa.Field(ge=1)
    n_train: int = pa.Field(ge=1)  # never an empty train set
    n_validation: int = pa.Field(ge=0)
    n_dropped: int = pa.Field(ge=0)
    n_truncated: int = pa.Field(ge=0)
    max_tokens: int = pa.Field(ge=1)
    split_seed: int = pa.Field(ge=0)
    validation_share: float = pa.Field(ge=0, lt=1)
    dialogues_hash: str = pa.Field(str_matches=HASH16)
    path: str = pa.Field(str_length={"min_value": 1})

    @pa.dataframe_check
    def every_dialogue_is_placed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Considered = train + validation + dropped: nothing goes missing."""
        return data.lazyframe.select(
            pl.col("n_dialogues") == pl.col("n_train") + pl.col("n_validation")
            + pl.col("n_dropped"))

    class Config:
        strict = False  # the per-format counts ride along unchecked


class FinetuneExportDialogue(pa.DataFrameModel):
    export_id: str = pa.Field(str_matches=HASH16)
    dialogue_id: str
    split: str = pa.Field(isin=["train", "validation", "dropped"])
    reason: str = pa.Field(nullable=True)
    kept_turns: int = pa.Field(ge=1, nullable=True)
    truncated: bool

    @pa.dataframe_check
    def dropped_ones_say_why(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A reason and no turns for a dropped dialogue; turns and no reason otherwise."""
        dropped = pl.col("split") == "dropped"
        return data.lazyframe.select(
            (dropped == pl.col("reason").is_not_null())
            & (dropped == pl.col("kept_turns").is_null()))

    class Config:
        strict = True
        unique = ("export_id", "dialogue_id")


class FinetuneDecision(pa.DataFrameModel):
    export_id: str = pa.Field(str_matches=HASH16, nullable=True)
    new_dialogues: int = pa.Field(ge=0)
    threshold: int = pa.Field(ge=1)
    forced: bool
    decision: str = pa.Field(isin=["start", "wait", "already_exported"])
    reason: str = pa.Field(str_length={"min_value": 1})
    run_id: str = pa.Field(nullable=True)

    @pa.dataframe_check
    def only_a_wait_has_no_export(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("decision") == "wait") == pl.col("export_id").is_null())

    class Config:
        strict = True
