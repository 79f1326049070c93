"""The shapes evaluation code passes around, shared by the metrics, the report and the stage.

A prediction frame (polars) has one row per supporter turn of the evaluated set:

| column          | type   | meaning                                                        |
|-----------------|--------|----------------------------------------------------------------|
| dialogue_id     | String | the resampling unit of the bootstrap (a CSConv dialogue)       |
| turn            | Int64  | the supporter turn's utt_index within its dialogue             |
| language        | String | 'zh' or 'en': picks the BLEU/ROUGE tokenisation                |
| gold_strategy   | Int64  | 1-12                                                           |
| pred_strategy   | Int64  | 1-12; null when the answer could not be read (parse failure)   |
| gold_text       | String | the reference reply                                            |
| pred_text       | String | the model's reply; null on a parse failure                     |
| parse_status    | String | 'ok' or 'failed'                                               |

A parse failure is a wrong strategy and an empty reply in every metric: it is counted, never
skipped, so a model cannot score higher by failing on the hard turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

PREDICTION_SCHEMA: dict[str, pl.DataType] = {
    "dialogue_id": pl.String, "turn": pl.Int64, "language": pl.String,
    "gold_strategy": pl.Int64, "pred_strategy": pl.Int64, "gold_text": pl.String,
    "pred_text": pl.String, "parse_status": pl.String,
}
SETTINGS = ("reference", "generated")  # gold history, or the model's own earlier replies

# Headline metrics, in the order the leaderboard shows them; all x100 except resp_len
# (characters for zh, words for en) and parse_failures (a percentage of turns).
HEADLINE = ("acc", "macro_f1", "stage_acc", "bleu2", "bleu4", "rouge_l", "bertscore",
            "distinct1", "distinct2", "resp_len", "parse_failures")
# Beyond the paper, from the LLM judges (csc/eval/judge_turns.py, judge_pairwise.py): mean
# 1-5 scores per judged turn, and the win rate (x100) against the reference model. Shown
# beside HEADLINE.
JUDGED = ("judge_resolution", "judge_empathy", "judge_appropriateness", "win_rate")
NOT_COMPUTED = "not computed"


@dataclass(frozen=True)
class MetricValue:
    """One metric of one run: its value and 95% bootstrap interval (resampled by dialogue).
    `value` is None exactly when `status` is not 'computed' (BERTScore without a model):
    such a metric is shown as its status, never as zero."""

    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0  # turns it was computed over
    status: str = "computed"


@dataclass(frozen=True)
class StrategyScore:
    """Precision, recall and F1 (x100) of one strategy, over the turns whose gold or
    predicted strategy it is; support is its gold count."""

    strategy_id: int
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """Everything the metrics say about one run's predictions."""

    headline: dict[str, MetricValue]
    per_strategy: list[StrategyScore]
    # confusion[g - 1][p - 1]: turns of gold strategy g predicted as p (p in 1..12); the
    # 13th column counts the gold-g turns whose answer could not be read.
    confusion: list[list[int]]
    # accuracy (x100) per gold phase name ('connecting', ...): strategy right, by phase
    phase_accuracy: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """Run a minus run b on one metric, over the turns both predicted (paired bootstrap by
    dialogue): the difference, its 95% interval, and whether the interval excludes 0."""

    metric: str
    diff: float
    ci_low: float
    ci_high: float
    significant: bool
