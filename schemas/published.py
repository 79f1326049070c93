"""Great Expectations suites for the tables we publish: the CSConv set, the RoleCS accepted
set, the evaluation's metrics and leaderboard, and the fine-tune exports.

Pandera guards each batch on its way in; these suites check the published table as a whole,
as analysts and model trainers will read it: shapes, ranges, keys and the method's invariants.
Facts that span rows (alternation, the opening strategy, counts that must add up) are computed
per dialogue by the query that reads the table (sql/queries/quality/), and checked here as
boolean columns.

Every expectation carries a severity: "critical" (the default) stops publication in the
quality gate (csc.quality.gate); "warning" is recorded and shown, and publishes anyway.
"""

from __future__ import annotations

import great_expectations as gx

E = gx.expectations

# Metrics of eval.metrics multiplied by 100 (docs/metrics.md): a share, so within [0, 100].
PERCENT_METRICS = ("acc", "macro_f1", "stage_acc", "bleu2", "bleu4", "rouge_l", "bertscore",
                   "distinct1", "distinct2", "parse_failures", "win_rate", "precision",
                   "recall", "f1", "phase_acc")
JUDGE_METRICS = ("judge_resolution", "judge_empathy", "judge_appropriateness")  # mean 1-5
COUNT_METRICS = ("resp_len", "support", "confusion")  # lengths and counts: never negative
ROLECS_MAX_UTTERANCES = 50  # csc.rolecs.dialogue.LoopRules: the method's bound


def warning(expectation):
    """Mark an expectation as a warning: recorded, never a reason to stop publication."""
    expectation.severity = "warning"
    return expectation


def no_unmasked_pii() -> object:
    """`unmasked_pii` is added by csc.quality.published.add_unmasked_pii: NULL, or the row's
    text with the PII the project's masking finds replaced (so a failure never shows it)."""
    return E.ExpectColumnValuesToBeNull(
        column="unmasked_pii",
        description="no unmasked phone number, e-mail, ID card or bank card number in text")


def _supporter_strategies() -> list:
    return [
        E.ExpectColumnValuesToBeInSet(column="speaker", value_set=["customer", "supporter"]),
        E.ExpectColumnValuesToNotBeNull(column="text"),
        E.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="strategy_id", min_value=1, max_value=12),
        E.ExpectColumnValuesToNotBeNull(column="strategy_id", row_condition='speaker=="supporter"',
                                        condition_parser="pandas"),
    ]


def csconv_utterances() -> list:
    return [
        *_supporter_strategies(),
        E.ExpectCompoundColumnsToBeUnique(column_list=["csconv_id", "utt_index"]),
        E.ExpectColumnValuesToBeNull(column="strategy_id", row_condition='speaker=="customer"',
                                     condition_parser="pandas"),
        E.ExpectColumnValuesToNotMatchRegex(column="strategy_label", regex=r"[+＋]"),
        no_unmasked_pii(),
    ]


def csconv_dialogues(min_utterances: int, max_utterances: int) -> list:
    return [
        E.ExpectColumnValuesToBeUnique(column="csconv_id"),
        E.ExpectColumnValuesToBeInSet(column="language", value_set=["zh", "en"]),
        E.ExpectColumnValuesToBeBetween(column="n_utterances", min_value=min_utterances,
                                        max_value=max_utterances),
        E.ExpectColumnValuesToBeBetween(column="strategy_use", min_value=0.0, max_value=1.0),
        # computed per dialogue by the query that reads the published set
        E.ExpectColumnValuesToBeInSet(column="alternates", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="has_required_strategies", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="counts_match", value_set=[True]),
    ]


def rolecs_dialogues(max_utterances: int = ROLECS_MAX_UTTERANCES) -> list:
    """marts.rolecs_accepted, one row per dialogue (sql/queries/quality/rolecs_dialogues)."""
    return [
        E.ExpectColumnValuesToBeUnique(column="dialogue_id"),
        E.ExpectColumnValuesToBeInSet(column="language", value_set=["zh", "en"]),
        E.ExpectColumnValuesToBeBetween(column="n_utterances", min_value=1,
                                        max_value=max_utterances),
        E.ExpectColumnValuesToBeInSet(column="alternates", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="opens_with_greeting", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="counts_match", value_set=[True]),
        # judge fields complete: the stored verdict and the judge's five criteria, all passed
        E.ExpectColumnValuesToBeInSet(column="judge_passed", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="judged_five_of_five", value_set=[True]),
        E.ExpectColumnValuesToNotBeNull(column="judge_model"),
    ]


def rolecs_utterances() -> list:
    """The turns of the accepted RoleCS dialogues."""
    return [
        *_supporter_strategies(),
        E.ExpectCompoundColumnsToBeUnique(column_list=["dialogue_id", "utt_index"]),
        no_unmasked_pii(),
    ]


def eval_metrics() -> list:
    """eval.metrics: every value within its metric's range (docs/metrics.md)."""
    def values(low: float | None, high: float | None, metrics: tuple[str, ...]):
        return E.ExpectColumnValuesToBeBetween(
            column="value", min_value=low, max_value=high,
            row_condition=f"metric in {list(metrics)!r}", condition_parser="pandas")

    return [
        values(0.0, 100.0, PERCENT_METRICS),
        values(1.0, 5.0, JUDGE_METRICS),
        values(0.0, None, COUNT_METRICS),
        E.ExpectColumnValuesToNotBeNull(column="value", row_condition='status=="computed"',
                                        condition_parser="pandas"),
        E.ExpectColumnValuesToBeBetween(column="n_turns", min_value=0),
        # a percentile interval need not hold its point estimate on a skewed sample
        warning(E.ExpectColumnValuesToBeInSet(column="interval_holds_value",
                                              value_set=[True])),
        warning(E.ExpectColumnValuesToBeInSet(
            column="metric", value_set=[*PERCENT_METRICS, *JUDGE_METRICS, *COUNT_METRICS])),
    ]


def leaderboard() -> list:
    """marts.leaderboard: one row per model and setting, headline figures in range."""
    percent = ("acc", "macro_f1", "stage_acc", "bleu2", "bleu4", "rouge_l", "bertscore",
               "distinct1", "distinct2", "parse_failures", "win_rate")
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["setting", "model"]),
        E.ExpectColumnValuesToNotBeNull(column="acc"),
        *[E.ExpectColumnValuesToBeBetween(column=c, min_value=0.0, max_value=100.0)
          for c in percent],
        *[E.ExpectColumnValuesToBeBetween(column=c, min_value=1.0, max_value=5.0)
          for c in JUDGE_METRICS],
        E.ExpectColumnValuesToBeBetween(column="resp_len", min_value=0.0),
    ]


def turn_judgements() -> list:
    """eval.turn_judgements: judge fields complete on every turn the judge answered."""
    ok = {"row_condition": 'status=="ok"', "condition_parser": "pandas"}
    return [
        E.ExpectColumnValuesToBeInSet(column="status", value_set=["ok", "failed", "skipped"]),
        *[E.ExpectColumnValuesToNotBeNull(column=c, **ok)
          for c in ("resolution", "empathy", "appropriateness")],
        warning(E.ExpectColumnValuesToNotBeNull(column="error", row_condition='status=="failed"',
                                                condition_parser="pandas")),
    ]


def finetune_exports() -> list:
    """finetune.exports: every considered dialogue is trained on, validated on, or dropped."""
    return [
        E.ExpectColumnValuesToBeUnique(column="export_id"),
        E.ExpectColumnValuesToBeInSet(column="counts_add_up", value_set=[True]),
        E.ExpectColumnValuesToBeBetween(column="n_train", min_value=1),
        *[E.ExpectColumnValuesToBeBetween(column=c, min_value=0)
          for c in ("n_validation", "n_dropped", "n_truncated")],
        warning(E.ExpectColumnValuesToBeInSet(column="truncated_within_written",
                                              value_set=[True])),
    ]


def has_rows(critical: bool = True) -> object:
    """A table that should have rows has some (added by the gate only where its stage has run:
    an empty table on a fresh warehouse is "no rows yet", not a failure)."""
    expectation = E.ExpectTableRowCountToBeBetween(min_value=1)
    return expectation if critical else warning(expectation)
