"""Small hand-written SVG charts for the evaluation report: horizontal bars with interval
whiskers, and a heatmap.

Why by hand and not matplotlib: the report needs two chart shapes, both a few dozen lines of
rectangles and text. matplotlib would add about ten packages (numpy, pillow, fonttools, ...) to
the pinned set, about a second of import per process, and SVG full of glyph paths and ids that
bloats the page; hand-written SVG is plain text that the HTML escaping already covers, scales
with the page and needs no fonts. Rendering the whole report for 24 runs took 22 ms here
(tests/test_eval_report.py::test_render_time prints it).

Every string that reaches the markup goes through `esc`: labels come from run data.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"
BAR = "#3b6ea8"
SIM_BAR = "#b0b0b0"  # simulator rows: grey, so they never read as a model's bar
SIM_TEXT = "#b00020"


def esc(text: object) -> str:
    """HTML/SVG-escape anything shown (quotes too: the same text goes into attributes)."""
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    """Coordinates with one decimal: enough for pixels, short in the file."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Bar:
    """One bar: `value` None draws no bar but the `note` (a metric's status, e.g. 'not
    computed'), so a missing figure never looks like a zero. `sublabel` is a second line under
    the label (the simulator warning), drawn in red."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    sublabel: str = ""
    muted: bool = False


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bar_chart(title: str, bars: Sequence[Bar], *, scale_max: float | None = None,
              label_width: int = 230, plot_width: int = 220, digits: int = 1) -> str:
    """Horizontal bars, one per run, with the 95% interval as a whisker. The scale starts at 0
    and ends at `scale_max` (100 for x100 metrics) or at the largest value or bound drawn."""
    row_h = 30
    top = 24
    height = top + row_h * max(len(bars), 1) + 8
    width = label_width + plot_width + 70
    tops = [v for b in bars for v in (b.value, b.high) if v is not None]
    vmax = scale_max if scale_max is not None else max(tops, default=1.0)
    vmax = max(vmax, max(tops, default=0.0), 1e-9)

    def x(v: float) -> float:
        return label_width + max(0.0, min(v, vmax)) / vmax * plot_width

    out = [f'<svg class="chart bars" role="img" aria-label="{esc(title)}" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">',
           f"<title>{esc(title)}</title>",
           f'<text x="4" y="15" font-size="13" font-weight="600">{esc(title)}</text>',
           f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{height - 6}" '
           f'stroke="#888"/>']
    for i, b in enumerate(bars):
        y = top + i * row_h
        label = _truncate(b.label, 34)
        out.append(f'<text x="4" y="{y + 12}" font-size="11"><title>{esc(b.label)}</title>'
                   f"{esc(label)}</text>")
        if b.sublabel:
            out.append(f'<text x="4" y="{y + 24}" font-size="10" fill="{SIM_TEXT}" '
                       f'font-weight="600">{esc(b.sublabel)}</text>')
        if b.value is None:
            out.append(f'<text x="{label_width + 6}" y="{y + 13}" font-size="11" '
                       f'font-style="italic" fill="#666">{esc(b.note or "no value")}</text>')
            continue
        fill = SIM_BAR if b.muted else BAR
        out.append(f'<rect x="{label_width}" y="{y + 3}" width="{_num(x(b.value) - label_width)}" '
                   f'height="14" fill="{fill}"><title>{esc(b.label)}: '
                   f"{b.value:.{digits}f}</title></rect>")
        if b.low is not None and b.high is not None:
            x1, x2 = _num(x(b.low)), _num(x(b.high))
            out.append(f'<path d="M{x1} {y + 10}H{x2}M{x1} {y + 5}V{y + 15}M{x2} {y + 5}V{y + 15}"'
                       ' stroke="#222" stroke-width="1.2" fill="none"/>')
        out.append(f'<text x="{_num(max(x(b.value), x(b.high or 0)) + 5)}" y="{y + 14}" '
                   f'font-size="11">{b.value:.{digits}f}</text>')
    out.append("</svg>")
    return "".join(out)


def _shade(share: float) -> str:
    """White to dark blue as the share goes from 0 to 1."""
    share = max(0.0, min(share, 1.0))
    r = round(255 - share * (255 - 33))
    g = round(255 - share * (255 - 84))
    b = round(255 - share * (255 - 145))
    return f"rgb({r},{g},{b})"


def heatmap(title: str, row_labels: Sequence[str], col_labels: Sequence[str],
            cells: Sequence[Sequence[int]], *, subtitle: str = "", cell: int = 30,
            col_titles: Sequence[str] | None = None) -> str:
    """Counts as a grid, each cell shaded by its share of its row (a gold strategy's turns), so
    rare strategies are as readable as common ones; the count is written in the cell.
    `col_titles` are the columns' full names for the tooltips, when the labels are short."""
    titles = list(col_titles) if col_titles is not None else list(col_labels)
    left, top = 70, 54 if subtitle else 40
    width = left + cell * len(col_labels) + 10
    height = top + cell * len(row_labels) + 10
    out = [f'<svg class="chart heatmap" role="img" aria-label="{esc(title)}" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">',
           f"<title>{esc(title)}</title>",
           f'<text x="4" y="14" font-size="13" font-weight="600">{esc(title)}</text>']
    if subtitle:
        out.append(f'<text x="4" y="29" font-size="11" fill="{SIM_TEXT}" font-weight="600">'
                   f"{esc(subtitle)}</text>")
    for j, c in enumerate(col_labels):
        out.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" font-size="9" '
                   f'text-anchor="middle">{esc(c)}</text>')
    for i, (label, row) in enumerate(zip(row_labels, cells, strict=True)):
        y = top + i * cell
        out.append(f'<text x="{left - 4}" y="{y + cell / 2 + 4}" font-size="9" '
                   f'text-anchor="end">{esc(label)}</text>')
        total = sum(row)
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            ink = "#fff" if share > 0.55 else "#222"
            out.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell}" height="{cell}" '
                       f'fill="{_shade(share)}" stroke="#ddd"><title>{esc(label)} \u2192 '
                       f"{esc(titles[j])}: {count}</title></rect>")
            if count:
                out.append(f'<text x="{left + j * cell + cell / 2}" y="{y + cell / 2 + 4}" '
                           f'font-size="9" text-anchor="middle" fill="{ink}">{count}</text>')
    out.append("</svg>")
    return "".join(out)
