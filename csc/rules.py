"""The rule pre-filter of CSConv (csc-method §3.2), vectorised over merged utterances."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import polars as pl


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds of the rule pre-filter; the defaults are the paper's."""

    min_turns: int = 3
    max_turns: int = 30
    max_utterance_chars: int = 500
    supporter_to_customer_max: float = 2.0  # drop when supporter lines >= this x customer lines
    min_customer_long_share: float = 0.7  # share of customer lines longer than below
    customer_long_chars: int = 3

    @property
    def version(self) -> str:
        """Changes whenever a threshold changes, so stored verdicts can be recomputed."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return "rules-" + hashlib.sha256(blob).hexdigest()[:10]


RULES = ("too_few_turns", "too_many_turns", "utterance_too_long", "supporter_dominates",
         "no_customer", "customer_lines_too_short")


def prefilter(utterances: pl.DataFrame, cfg: RuleConfig = RuleConfig()) -> pl.DataFrame:
    """One row per dialogue: the measures, the rules that failed, and whether it passed.

    `utterances` holds merged utterances with columns dialogue_id, speaker, n_chars.
    turns = lines // 2, as in the reference scripts.
    """
    is_cust = pl.col("speaker") == "customer"
    stats = utterances.group_by("dialogue_id").agg(
        pl.len().cast(pl.Int32).alias("n_lines"),
        is_cust.sum().cast(pl.Int32).alias("n_customer"),
        (~is_cust).sum().cast(pl.Int32).alias("n_supporter"),
        pl.col("n_chars").max().cast(pl.Int32).alias("max_utterance_chars"),
        (is_cust & (pl.col("n_chars") > cfg.customer_long_chars)).sum().alias("_long"),
    )
    turns = pl.col("n_lines") // 2
    share = pl.when(pl.col("n_customer") > 0).then(
        pl.col("_long") / pl.col("n_customer")).otherwise(0.0)
    checks = {
        "too_few_turns": turns < cfg.min_turns,
        "too_many_turns": turns > cfg.max_turns,
        "utterance_too_long": pl.col("max_utterance_chars") > cfg.max_utterance_chars,
        "supporter_dominates": pl.col("n_supporter")
        >= cfg.supporter_to_customer_max * pl.col("n_customer"),
        "no_customer": pl.col("n_customer") == 0,
        "customer_lines_too_short": (pl.col("n_customer") > 0)
        & (share < cfg.min_customer_long_share),
    }
    failed = pl.concat_list(
        [pl.when(cond).then(pl.lit(name)).otherwise(pl.lit(None, pl.String))
         for name, cond in checks.items()]
    ).list.drop_nulls()
    return stats.with_columns(
        turns.cast(pl.Int32).alias("n_turns"),
        share.cast(pl.Float64).alias("customer_long_share"),
        failed.alias("failed_rules"),
    ).with_columns(
        (pl.col("failed_rules").list.len() == 0).alias("passed"),
        pl.lit(cfg.version).alias("rules_version"),
    ).drop("_long").select(
        "dialogue_id", "passed", "failed_rules", "n_lines", "n_turns", "n_customer",
        "n_supporter", "max_utterance_chars", "customer_long_share", "rules_version",
    )
