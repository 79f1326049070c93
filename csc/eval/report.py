"""The evaluation report's data: the runs it shows (`RunReport`, `ReportData`), how a figure
is written, and the order and neighbours of a leaderboard. The page (csc/eval/report_html.py)
and the Markdown leaderboard (csc/eval/report_markdown.py) are both rendered from it, so a figure
reads the same in both and a leaderboard is ordered the same way.

Project rules the renderings keep, and this module's helpers serve:
- a simulator run is labelled SIMULATOR_LABEL wherever it appears: its output is never
  presented as a model's result (RunReport refuses a sim-* model that is not of kind
  'simulator');
- a metric that was not computed shows its status ('not computed'), never a zero
  (`format_metric`, `absent`);
- the paper's published figures (csc/eval/published.py) sit in their own captioned table, never
  among our rows (`published_comparisons` picks the paper's rows a run is set against).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from csc.eval import published
from csc.eval.types import HEADLINE, JUDGED, SETTINGS, Comparison, Evaluation, MetricValue

KINDS = ("baseline", "model", "simulator")
SIMULATOR_LABEL = "simulator \u2014 not a model's result"
SETTING_TITLES = {"reference": "Reference context (gold history)",
                  "generated": "Generated context (the model's own earlier replies)"}
METRIC_LABELS = {
    "acc": "ACC", "macro_f1": "Macro-F1", "stage_acc": "Stage ACC", "bleu2": "B-2",
    "bleu4": "B-4", "rouge_l": "R-L", "bertscore": "BERTScore", "distinct1": "Dist-1",
    "distinct2": "Dist-2", "resp_len": "Resp. length", "parse_failures": "Parse failures %",
    "judge_resolution": "Judge: resolution (1-5)", "judge_empathy": "Judge: empathy (1-5)",
    "judge_appropriateness": "Judge: strategy fit (1-5)", "win_rate": "Win rate % vs reference",
}
# The leaderboard's columns: the paper's metrics, then the LLM judges' (beyond the paper).
LEADERBOARD = (*HEADLINE, *JUDGED)
NO_FIGURE = "\u2014"


@dataclass
class RunReport:
    """One evaluated run as the report shows it. `vs_next` holds, per metric, the paired
    comparison of this run against the run just below it on its setting's leaderboard (sorted
    by ACC); the last row has none."""

    run_key: str
    model: str
    kind: str  # 'baseline' | 'model' | 'simulator'
    setting: str  # 'reference' | 'generated'
    dataset: str
    n_turns: int
    evaluation: Evaluation
    vs_next: dict[str, Comparison] = field(default_factory=dict)
    base: str | None = None  # for a fine-tuned model: the model it was fine-tuned from

    def __post_init__(self) -> None:
        # A mistyped kind would silently drop the simulator label, so refuse it.
        if self.kind not in KINDS:
            raise ValueError(f"run {self.run_key!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.setting not in SETTINGS:
            raise ValueError(f"run {self.run_key!r}: setting {self.setting!r} is not one of "
                             f"{SETTINGS}")
        # The simulator serves only sim-* models (simulator/server.py): such a run is the
        # simulator's whatever the caller called it.
        if self.model.startswith("sim-") and self.kind != "simulator":
            raise ValueError(f"run {self.run_key!r}: model {self.model!r} is the offline "
                             f"simulator's, so its kind must be 'simulator', not {self.kind!r}")

    @property
    def is_simulator(self) -> bool:
        return self.kind == "simulator"

    def metric(self, name: str) -> MetricValue | None:
        return self.evaluation.headline.get(name)


@dataclass
class ReportData:
    """Everything one report shows; `generated_at` is passed in (not read from the clock) so
    the same data always renders the same page."""

    runs: list[RunReport]
    generated_at: str
    dataset_note: str = ""


# --- numbers ------------------------------------------------------------------------------


def value_of(m: MetricValue | None) -> float | None:
    """The figure to compute with, or None when there is none to show (missing, not computed,
    not a finite number)."""
    if m is None or m.status != "computed" or m.value is None or not math.isfinite(m.value):
        return None
    return float(m.value)


def absent(m: MetricValue | None) -> str:
    """What stands in for a missing figure: the metric's own status when it has one."""
    if m is None:
        return "not reported"
    if m.status != "computed":
        return m.status
    return "no value"


def format_metric(m: MetricValue | None, digits: int = 1) -> str:
    """'42.6 [41.2–44.0]': the value and its 95% interval; a metric without a value shows its
    status ('not computed'), never 0."""
    v = value_of(m)
    if v is None:
        return absent(m)
    text = f"{v:.{digits}f}"
    if m is not None and m.ci_low is not None and m.ci_high is not None:
        text += f" [{m.ci_low:.{digits}f}\u2013{m.ci_high:.{digits}f}]"
    return text


def signed(x: float, digits: int = 2) -> str:
    """A difference with its sign; a difference that rounds to zero is '+0.00', not '-0.00'."""
    text = f"{x:+.{digits}f}"
    return text.replace("-", "+", 1) if float(text) == 0 else text


def delta(a: MetricValue | None, b: MetricValue | None) -> float | None:
    """a minus b on point estimates, or None when either side has no figure."""
    va, vb = value_of(a), value_of(b)
    return None if va is None or vb is None else va - vb


def _sort_key(run: RunReport) -> tuple[int, float, str]:
    acc = value_of(run.metric("acc"))
    return (acc is None, -(acc or 0.0), run.run_key)


def leaderboard(runs: Iterable[RunReport], setting: str) -> list[RunReport]:
    """One setting's runs, best ACC first; runs without an ACC go last; ties by run key so the
    order never depends on the input's."""
    return sorted((r for r in runs if r.setting == setting), key=_sort_key)


def best_baseline(runs: Iterable[RunReport], setting: str) -> RunReport | None:
    """The baseline with the highest ACC in a setting: what a model has to beat."""
    return next((r for r in leaderboard(runs, setting) if r.kind == "baseline"), None)


def significance_text(c: Comparison) -> str:
    verdict = "\u2731 significant" if c.significant else "n.s."
    return (f"{METRIC_LABELS.get(c.metric, c.metric)} {signed(c.diff, 1)} "
            f"[{c.ci_low:.1f}\u2013{c.ci_high:.1f}] {verdict}")


def ordered_comparisons(run: RunReport) -> list[Comparison]:
    """The run's comparisons with the next row, ACC first, then headline order."""
    order = {m: i for i, m in enumerate(HEADLINE)}
    return sorted(run.vs_next.values(), key=lambda c: (order.get(c.metric, len(order)), c.metric))


def published_comparisons(run: RunReport) -> list[tuple[published.PublishedRow, str]]:
    """The paper's rows a reference-context run of ours is set against: the same model when the
    paper has it, and always the paper's best ACC."""
    pairs: list[tuple[published.PublishedRow, str]] = []
    same = published.match(run.model)
    if same is not None:
        pairs.append((same, "same model"))
    best = published.best_reference_row()
    if same != best:
        pairs.append((best, "paper's best ACC"))
    return pairs
