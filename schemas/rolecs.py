"""Contracts of the RoleCS tables, checked before a batch is written."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# Why a simulated dialogue ended. The first three are natural ends: such a dialogue is judged
# and may be accepted; the others stop it unjudged.
NATURAL_STOPS = ("closure", "customer_finished", "max_utterances")
STOPS = (*NATURAL_STOPS, "loop", "strategy_repeated")


class RolecsUtterance(pa.DataFrameModel):
    dialogue_id: str = pa.Field(str_matches=r"^[0-9a-f]{16}$")
    utt_index: int = pa.Field(ge=0)
    speaker: str = pa.Field(isin=["customer", "supporter"])
    strategy_id: int = pa.Field(ge=1, le=12, nullable=True)
    stage: str = pa.Field(nullable=True)
    direction: str = pa.Field(nullable=True)
    text: str = pa.Field(str_length={"min_value": 1})
    reasoning: str = pa.Field(nullable=True)
    model: str
    prompt_version: str

    @pa.dataframe_check
    def supporter_turns_carry_a_strategy(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A supporter turn has its strategy; a customer turn has none."""
        return data.lazyframe.select(
            (pl.col("speaker") == "supporter") == pl.col("strategy_id").is_not_null())

    class Config:
        strict = True
        unique = ("dialogue_id", "utt_index")


class RolecsDialogue(pa.DataFrameModel):
    dialogue_id: str = pa.Field(str_matches=r"^[0-9a-f]{16}$", unique=True)
    scenario_id: str = pa.Field(str_matches=r"^[0-9a-f]{16}$")
    version: str
    language: str = pa.Field(isin=["zh", "en"])
    status: str = pa.Field(isin=["accepted", "rejected", "stopped"])
    stop_reason: str = pa.Field(isin=list(STOPS))
    n_utterances: int = pa.Field(ge=1)
    n_supporter: int = pa.Field(ge=1)
    judge_passed: bool = pa.Field(nullable=True)

    @pa.dataframe_check
    def accepted_means_judged_five_of_five(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("status") == "accepted") == pl.col("judge_passed").fill_null(False))

    class Config:
        strict = False  # lineage columns ride along unchecked
