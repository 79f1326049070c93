"""The rule pre-filter of CSConv (csc-method §3.2), vectorised over merged utterances.

The reference scripts count some rules on merged utterances and some on the raw lines they
were merged from, and both counts are needed to drop what the method drops:
- R1 turns = merged utterances // 2 (after §3.1's merge);
- R2 any merged utterance of `max_utterance_chars` or more characters (per language);
- R3 supporter raw lines >= 2 x customer raw lines (after merging, alternation makes the two
  counts differ by at most one, so R3 could never fire on merged utterances);
- R4 no customer raw line, or under 70% of customer raw lines longer than 3 characters.
Each utterance carries `source_line_chars`, the lengths of the raw lines merged into it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

import polars as pl

from csc.settings import Settings, current

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds of the rule pre-filter; the defaults are the paper's, except R2 for English.

    R2's 500 characters suit Chinese. English needs about 3.6 characters per Chinese one for
    the same content (the median ratio over 5,357 parallel STC-3 utterances), so its default
    is 500 x 3.6 = 1,800 (docs/metrics.md has the figures behind it).
    """

    min_turns: int = 3
    max_turns: int = 30
    max_utterance_chars_zh: int = 500
    max_utterance_chars_en: int = 1800
    supporter_to_customer_max: float = 2.0  # drop when supporter lines >= this x customer lines
    min_customer_long_share: float = 0.7  # share of customer lines longer than below
    customer_long_chars: int = 3

    @property
    def version(self) -> str:
        """Changes whenever a threshold changes, so stored verdicts can be recomputed."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return "rules-" + hashlib.sha256(blob).hexdigest()[:10]

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> RuleConfig:
        """`CSC_RULES_<FIELD>` overrides a threshold (`CSC_RULES_MAX_UTTERANCE_CHARS_EN=2000`):
        from `settings`, else the validated current ones (csc.settings, which refuses a value
        that is not a number, a negative one, and a minimum above its maximum)."""
        s = settings if settings is not None else current()
        return cls(**{f.name: getattr(s, f"rules_{f.name}") for f in fields(cls)})


RULES = ("too_few_turns", "too_many_turns", "utterance_too_long", "supporter_dominates",
         "no_customer", "customer_lines_too_short")


def prefilter(utterances: pl.DataFrame, cfg: RuleConfig = RuleConfig()) -> pl.DataFrame:
    """One row per dialogue: the measures, the rules that failed, and whether it passed.

    `utterances` holds merged utterances with columns dialogue_id, speaker, n_chars, and
    optionally language (default zh) and source_line_chars (default: the utterance is one
    line of n_chars, as for rows stored before raw lines were kept).
    """
    is_en = ((pl.col("language") == "en").fill_null(False) if "language" in utterances.columns
             else pl.lit(False))
    one_line = pl.concat_list(pl.col("n_chars").cast(pl.Int32))
    lines = (pl.coalesce(pl.col("source_line_chars"), one_line)
             if "source_line_chars" in utterances.columns else one_line)
    is_cust = pl.col("speaker") == "customer"
    per_utt = utterances.select(
        "dialogue_id", "n_chars", is_cust.alias("_cust"), is_en.alias("_en"),
        lines.list.len().alias("_lines"),
        (lines.list.eval(pl.element() > cfg.customer_long_chars).list.sum()).alias("_long"),
    )
    cust = pl.col("_cust")
    stats = per_utt.group_by("dialogue_id").agg(
        pl.len().cast(pl.Int32).alias("n_lines"),
        pl.col("_lines").filter(cust).sum().cast(pl.Int32).alias("n_customer"),
        pl.col("_lines").filter(~cust).sum().cast(pl.Int32).alias("n_supporter"),
        pl.col("n_chars").max().cast(pl.Int32).alias("max_utterance_chars"),
        pl.col("_long").filter(cust).sum().alias("_long"),
        pl.col("_en").first(),
    )
    turns = pl.col("n_lines") // 2
    share = pl.when(pl.col("n_customer") > 0).then(
        pl.col("_long") / pl.col("n_customer")).otherwise(0.0)
    limit = pl.when(pl.col("_en")).then(cfg.max_utterance_chars_en).otherwise(
        cfg.max_utterance_chars_zh)
    checks = {
        "too_few_turns": turns < cfg.min_turns,
        "too_many_turns": turns > cfg.max_turns,
        "utterance_too_long": pl.col("max_utterance_chars") >= limit,
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
    ).select(
        "dialogue_id", "passed", "failed_rules", "n_lines", "n_turns", "n_customer",
        "n_supporter", "max_utterance_chars", "customer_long_share", "rules_version",
    )
