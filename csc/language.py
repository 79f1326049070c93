"""Language detection good enough to route zh and en dialogues to the right prompts."""

from __future__ import annotations

import polars as pl

ZH_SHARE = 0.2  # share of Han characters among letters above which a dialogue is Chinese


def han_and_latin(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return text.str.count_matches(r"\p{Han}"), text.str.count_matches(r"[A-Za-z]")


def detect_expr(han: pl.Expr, latin: pl.Expr) -> pl.Expr:
    """'zh' when Han characters make up at least ZH_SHARE of letters, else 'en'."""
    share = han / pl.max_horizontal(han + latin, pl.lit(1))
    return pl.when(share >= ZH_SHARE).then(pl.lit("zh")).otherwise(pl.lit("en"))


def detect(text: str) -> str:
    df = pl.DataFrame({"t": [text]})
    han, latin = han_and_latin(pl.col("t"))
    return df.select(detect_expr(han, latin))[0, 0]
