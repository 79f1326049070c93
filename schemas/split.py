"""Validate a polars frame against a Pandera model and split it instead of failing whole."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl


def split_valid(model: type[pa.DataFrameModel], df: pl.DataFrame, key: str
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass, failures as <key>/check/reason), validating data, not just the schema.

    Pandera checks only the schema of a LazyFrame, so the frame is validated eagerly.
    Schema-level errors (a missing column, a wrong dtype) are programming errors and raise.
    """
    try:
        return model.validate(df, lazy=True), pl.DataFrame(
            schema={key: df.schema[key], "check": pl.String, "reason": pl.String})
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    row_cases = cases.filter(pl.col("index").is_not_null())
    if row_cases.height == 0:
        raise pa.errors.SchemaError(model.to_schema(), df, str(cases)) from None
    keyed = df.with_row_index("_row").join(
        row_cases.select(pl.col("index").cast(pl.UInt32).alias("_row"), "column", "check",
                         pl.col("failure_case").cast(pl.String)),
        on="_row",
    )
    failures = keyed.group_by(key, maintain_order=True).agg(
        pl.format("{}.{}", pl.col("column"), pl.col("check")).first().alias("check"),
        pl.format("{} failed {} (value: {})", pl.col("column"), pl.col("check"),
                  pl.col("failure_case").str.slice(0, 80)).str.join("; ").alias("reason"),
    ).with_columns(pl.format("{}:{}", pl.lit(model.__name__), pl.col("check")).alias("check"))
    good = df.join(failures.select(key), on=key, how="anti")
    return model.validate(good), failures
