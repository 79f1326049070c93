"""Contracts of the CSConv tables, checked before a batch is written."""

from __future__ import annotations

import pandera.polars as pa


class CsconvUtterance(pa.DataFrameModel):
    csconv_id: str = pa.Field(str_matches=r"^[0-9a-f]{32}$")
    utt_index: int = pa.Field(ge=0)
    speaker: str = pa.Field(isin=["customer", "supporter"])
    strategy_id: int = pa.Field(ge=1, le=12, nullable=True)
    strategy_label: str = pa.Field(nullable=True)
    stage: str = pa.Field(nullable=True)
    text: str = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        unique = ("csconv_id", "utt_index")


class CsconvDialogue(pa.DataFrameModel):
    csconv_id: str = pa.Field(str_matches=r"^[0-9a-f]{32}$", unique=True)
    dialogue_id: str
    pipeline_version: str
    language: str = pa.Field(isin=["zh", "en"])
    n_utterances: int = pa.Field(ge=1)
    n_supporter: int = pa.Field(ge=1)
    strategy_use: float = pa.Field(ge=0.0, le=1.0)

    class Config:
        strict = False  # lineage columns ride along unchecked


class CsconvAnnotation(pa.DataFrameModel):
    target_kind: str = pa.Field(isin=["csconv", "raw"])
    target_id: str = pa.Field(str_length={"min_value": 1})
    utt_index: int = pa.Field(ge=0)
    strategy_id: int = pa.Field(ge=1, le=12, nullable=True)
    strategy_label: str = pa.Field(nullable=True)
    label_error: str = pa.Field(nullable=True)
    model: str
    prompt_version: str

    class Config:
        strict = False  # run_id rides along
        unique = ("target_kind", "target_id", "utt_index")
