"""The evaluation report's leaderboards as Markdown (one table per setting), e.g. for a Prefect
artifact, from the same `ReportData` as the HTML page (csc/eval/report.py). Every text from the
data is escaped, so a model name cannot break a table cell or add a link, emphasis or HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from csc.eval.report import (
    LEADERBOARD,
    METRIC_LABELS,
    NO_FIGURE,
    SETTING_TITLES,
    SIMULATOR_LABEL,
    ReportData,
    format_metric,
    leaderboard,
    ordered_comparisons,
    signed,
    value_of,
)
from csc.eval.types import SETTINGS, Comparison, MetricValue

_MD_SPECIAL = str.maketrans({"\\": "\\\\", "|": "\\|", "*": "\\*", "_": "\\_", "`": "\\`",
                             "[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;", "&": "&amp;",
                             "\n": " ", "\r": " "})


_MD_PLAIN = str.maketrans({k: _MD_SPECIAL[ord(k)] for k in "\\|<>&\n\r"})


def md(text: object) -> str:
    """Text from the data, safe inside a Markdown table cell: no cell breaks, links, emphasis
    or HTML."""
    return str(text).translate(_MD_SPECIAL)


def _md_figure(m: MetricValue | None) -> str:
    """A formatted figure: our own digits and brackets stay readable; a status text comes from
    the data, so it is escaped in full."""
    if value_of(m) is None:
        return md(format_metric(m))
    return format_metric(m).translate(_MD_PLAIN)


def _md_significance(c: Comparison) -> str:
    verdict = "\u2731 significant" if c.significant else "n.s."
    return (f"{md(METRIC_LABELS.get(c.metric, c.metric))} {signed(c.diff, 1)} "
            f"[{c.ci_low:.1f}\u2013{c.ci_high:.1f}] {verdict}")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]],
              align: Callable[[int], str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(align(i) for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _md_align(i: int) -> str:
    """Right-align the rank, the turns and the figures."""
    return "---:" if i == 0 or 5 <= i < 5 + 1 + len(LEADERBOARD) else "---"


def render_markdown(data: ReportData) -> str:
    """The leaderboards (one per setting) as Markdown, e.g. for a Prefect artifact."""
    lines = ["# CSC evaluation: leaderboard", "", f"Generated {md(data.generated_at)}."]
    if data.dataset_note:
        lines += ["", md(data.dataset_note)]
    sims = sorted({r.model for r in data.runs if r.is_simulator})
    if sims:
        lines += ["", f"> **{md(SIMULATOR_LABEL)}**: {md(', '.join(sims))} "
                  "is the offline simulator; its rows test the pipeline, not a model."]
    header = ["#", "model", "kind", "run", "dataset", "turns",
              *(md(METRIC_LABELS.get(m, m)) for m in LEADERBOARD), "vs next row"]
    for setting in SETTINGS:
        rows = leaderboard(data.runs, setting)
        lines += ["", f"## {md(SETTING_TITLES[setting])}", ""]
        if not rows:
            lines.append("No runs in this setting.")
            continue
        table = []
        for rank, run in enumerate(rows, 1):
            model = md(run.model)
            if run.base:
                model += f" (fine-tuned from {md(run.base)})"
            if run.is_simulator:
                model += f" **({md(SIMULATOR_LABEL)})**"
            comps = "; ".join(_md_significance(c) for c in ordered_comparisons(run)) or NO_FIGURE
            table.append([str(rank), model, md(run.kind), md(run.run_key), md(run.dataset),
                          str(run.n_turns), *(_md_figure(run.metric(m)) for m in LEADERBOARD),
                          comps])
        lines += _md_table(header, table, _md_align)
    lines += ["", "Values: x100 (Resp. length in characters/words) [95% bootstrap interval by "
              "dialogue]; \u2731 significant: the paired interval against the next row down "
              "excludes 0."]
    return "\n".join(lines) + "\n"
