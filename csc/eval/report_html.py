"""The evaluation report as one self-contained HTML page, built from `ReportData`
(csc/eval/report.py), and its atomic write: readable offline years later.

Why self-contained: the report is an artefact of a run, mailed, archived and opened without a
network; so the page loads nothing (no scripts, stylesheets, fonts or images from anywhere), its
charts are inline SVG (csc/eval/svg.py), and a Content-Security-Policy forbids anything else.
Every string from the data is escaped: model names and notes are not trusted markup.

The page keeps the report's rules (csc/eval/report.py): the simulator's rows are labelled on
every table and chart, a metric not computed shows its status, and the paper's figures have
their own section.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from csc.eval import published
from csc.eval.report import (
    LEADERBOARD,
    METRIC_LABELS,
    NO_FIGURE,
    SETTING_TITLES,
    SIMULATOR_LABEL,
    ReportData,
    RunReport,
    absent,
    delta,
    format_metric,
    leaderboard,
    ordered_comparisons,
    published_comparisons,
    signed,
    significance_text,
    value_of,
)
from csc.eval.svg import Bar, bar_chart, esc, heatmap
from csc.eval.types import HEADLINE, SETTINGS
from csc.framework import STRATEGIES, Phase

# Metrics on a 0-100 scale (bars drawn to 100); the rest are scaled to their largest value.
PERCENT_METRICS = frozenset(HEADLINE) - {"resp_len"}
UNREADABLE = "unreadable"


def _strategy_head(sid: int) -> str:
    s = STRATEGIES[sid - 1]
    return f"{s.id} {s.abbr}"


CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d1d1d;
max-width:1500px}
h1{font-size:22px}h2{font-size:19px;border-bottom:2px solid #3b6ea8;padding-bottom:3px;
margin-top:36px}h3{font-size:16px;margin-top:24px}
table{border-collapse:collapse;margin:8px 0 16px}caption{text-align:left;font-weight:600;
padding:4px 0}
th,td{border:1px solid #d4d4d4;padding:3px 7px;vertical-align:top}th{background:#f2f4f7}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.absent{color:#777;font-style:italic}
.wide{overflow-x:auto}table.leaderboard td:nth-child(2){min-width:190px}
table.leaderboard td.num{font-size:13px}
tr.sim td{background:#fff4f4}tr.sim td:first-child{border-left:4px solid #b00020}
.simlabel{color:#b00020;font-weight:700;display:block}
.kind{font-size:11px;color:#555;border:1px solid #bbb;border-radius:3px;padding:0 3px}
.banner{border:2px solid #b00020;background:#fff4f4;padding:8px 12px;margin:12px 0}
.paper{border:2px dashed #7a5a00;background:#fffaf0;padding:8px 12px;margin:12px 0}
.sig{font-size:12px;white-space:nowrap}.small{font-size:12px;color:#555}
.grid{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-start}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _model_cell(run: RunReport) -> str:
    cell = f"{esc(run.model)} <span class=\"kind\">{esc(run.kind)}</span>"
    if run.is_simulator:
        cell += f' <span class="simlabel">{esc(SIMULATOR_LABEL)}</span>'
    return cell


def _tr(run: RunReport | None) -> str:
    return '<tr class="sim">' if run is not None and run.is_simulator else "<tr>"


def _num_td(text: str, present: bool, extra: str = "") -> str:
    cls = "num" if present else "num absent"
    return f'<td class="{cls}"{extra}>{esc(text)}</td>'


def _sim_note(runs: Sequence[RunReport]) -> str:
    """A caption line for any table or chart that holds a simulator run."""
    names = [r.model for r in runs if r.is_simulator]
    if not names:
        return ""
    return (f'<p class="simlabel">Rows marked in red are {esc(SIMULATOR_LABEL)} '
            f"({esc(', '.join(sorted(set(names))))}).</p>")


def _leaderboard_html(rows: list[RunReport], setting: str) -> str:
    head = "".join(f"<th>{esc(METRIC_LABELS.get(m, m))}</th>" for m in LEADERBOARD)
    out = [f'<div class="wide"><table class="leaderboard" data-setting="{esc(setting)}">',
           f"<caption>Leaderboard \u2014 {esc(SETTING_TITLES[setting])}, sorted by ACC; "
           "value [95% bootstrap interval by dialogue]</caption>",
           f"<thead><tr><th>#</th><th>model</th><th>run</th><th>dataset</th><th>turns</th>{head}"
           "<th>vs next row</th></tr></thead><tbody>"]
    for rank, run in enumerate(rows, 1):
        cells = "".join(_num_td(format_metric(run.metric(m)),
                                value_of(run.metric(m)) is not None) for m in LEADERBOARD)
        comps = ordered_comparisons(run)
        if comps:
            sig = "<br>".join(f'<span class="sig">{esc(significance_text(c))}</span>'
                              for c in comps)
        else:
            sig = f'<span class="small">{NO_FIGURE} no comparison</span>'
        out.append(f'{_tr(run)}<td class="num">{rank}</td><td>{_model_cell(run)}</td>'
                   f"<td>{esc(run.run_key)}</td><td>{esc(run.dataset)}</td>"
                   f'<td class="num">{run.n_turns}</td>{cells}<td>{sig}</td></tr>')
    out.append("</tbody></table></div>")
    out.append('<p class="small">\u2731 significant: the paired bootstrap interval of the '
               "difference with the next row down excludes 0; n.s.: it does not.</p>")
    return "".join(out)


def _bar_label(run: RunReport) -> str:
    return f"{run.model} ({run.run_key})"


def _metric_bars_html(rows: list[RunReport], setting: str) -> str:
    charts = []
    for m in HEADLINE:
        bars = []
        for run in rows:
            mv = run.metric(m)
            v = value_of(mv)
            bars.append(Bar(label=_bar_label(run), value=v,
                            low=mv.ci_low if v is not None and mv is not None else None,
                            high=mv.ci_high if v is not None and mv is not None else None,
                            note=absent(mv), muted=run.is_simulator,
                            sublabel=SIMULATOR_LABEL if run.is_simulator else ""))
        title = f"{METRIC_LABELS.get(m, m)} \u2014 {setting} context"
        charts.append(bar_chart(title, bars, scale_max=100.0 if m in PERCENT_METRICS else None))
    return (f"<h3>Metrics \u2014 {esc(setting)} context</h3>{_sim_note(rows)}"
            f'<p class="small">Bars: value; whiskers: 95% interval. Grey bars are the '
            f'simulator\'s.</p><div class="grid">{"".join(charts)}</div>')


def _shade_style(value: float) -> str:
    """A background from white (0) to blue (100) for heat tables."""
    share = max(0.0, min(value / 100.0, 1.0))
    r, g, b = (round(255 - share * (255 - t)) for t in (120, 160, 210))
    return f' style="background:rgb({r},{g},{b})"'


def _strategy_f1_html(rows: list[RunReport], setting: str) -> str:
    head = "".join(f'<th title="{esc(s.name)}">{esc(_strategy_head(s.id))}<br>'
                   f'<span class="small">{esc(s.name)}</span></th>' for s in STRATEGIES)
    out = [f"<h3>F1 per strategy \u2014 {esc(setting)} context</h3>{_sim_note(rows)}",
           '<table class="strategy-f1"><caption>F1 (x100) per gold/predicted strategy; '
           "hover a cell for precision, recall and support</caption>"
           f"<thead><tr><th>model</th>{head}</tr></thead><tbody>"]
    for run in rows:
        by_id = {s.strategy_id: s for s in run.evaluation.per_strategy}
        cells = []
        for s in STRATEGIES:
            score = by_id.get(s.id)
            if score is None:
                cells.append(_num_td(NO_FIGURE, False))
                continue
            tip = (f' title="P {score.precision:.1f} / R {score.recall:.1f} / '
                   f'support {score.support}"')
            cells.append(_num_td(f"{score.f1:.1f}", True, _shade_style(score.f1) + tip))
        out.append(f'{_tr(run)}<td>{_model_cell(run)}</td>{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _phase_keys(rows: list[RunReport]) -> list[str]:
    """Phases in conversation order, then any other key the metrics produced."""
    seen = {k for r in rows for k in r.evaluation.phase_accuracy}
    ordered = [p.name.lower() for p in Phase if p.name.lower() in seen]
    return ordered + sorted(seen - set(ordered))


def _phase_html(rows: list[RunReport], setting: str) -> str:
    keys = _phase_keys(rows)
    out = [f"<h3>Accuracy by phase (stage) \u2014 {esc(setting)} context</h3>{_sim_note(rows)}"]
    if not keys:
        return out[0] + '<p class="small">No phase accuracy in these runs.</p>'
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    out.append('<table class="phase-acc"><caption>Strategy accuracy (x100) by the gold turn\'s '
               f"phase</caption><thead><tr><th>model</th>{head}</tr></thead><tbody>")
    for run in rows:
        cells = []
        for k in keys:
            v = run.evaluation.phase_accuracy.get(k)
            if v is None or not math.isfinite(v):
                cells.append(_num_td(NO_FIGURE, False))
            else:
                cells.append(_num_td(f"{v:.1f}", True, _shade_style(v)))
        out.append(f'{_tr(run)}<td>{_model_cell(run)}</td>{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _confusion_html(rows: list[RunReport], setting: str) -> str:
    cols = [s.abbr if len(s.abbr) <= 3 else s.abbr[:3] for s in STRATEGIES] + ["\u2717"]
    col_titles = [f"predicted {s.id} {s.name}" for s in STRATEGIES] + [UNREADABLE]
    row_labels = [_strategy_head(s.id) for s in STRATEGIES]
    out = [f"<h3>Confusion \u2014 {esc(setting)} context</h3>{_sim_note(rows)}",
           '<p class="small">Rows: gold strategy; columns: predicted, the last one the answers '
           "that could not be read (\u2717). Shade: share of the row.</p>"]
    for run in rows:
        matrix = run.evaluation.confusion
        title = f"{run.model} ({run.run_key}) \u2014 {setting} context"
        sub = SIMULATOR_LABEL if run.is_simulator else ""
        if len(matrix) != len(STRATEGIES) or any(len(r) != len(cols) for r in matrix):
            shape = f"{len(matrix)}\u00d7{max((len(r) for r in matrix), default=0)}"
            body = (f'<p class="absent">Confusion matrix unusable: expected 12\u00d713, '
                    f"got {esc(shape)}.</p>")
        else:
            body = heatmap(title, row_labels, cols, matrix, subtitle=sub, col_titles=col_titles)
        label = f'<span class="simlabel">{esc(SIMULATOR_LABEL)}</span>' if sub else ""
        out.append(f"<details open><summary>{esc(title)}</summary>{label}{body}</details>")
    return "".join(out)


def _baseline_delta_html(rows: list[RunReport], setting: str) -> str:
    out = [f"<h3>Against the best baseline \u2014 {esc(setting)} context</h3>"]
    base = next((r for r in rows if r.kind == "baseline"), None)
    others = [r for r in rows if r.kind != "baseline"]
    if base is None:
        return out[0] + '<p class="small">No baseline run in this setting.</p>'
    if not others:
        return out[0] + '<p class="small">No model run in this setting.</p>'
    head = "".join(f"<th>\u0394 {esc(METRIC_LABELS.get(m, m))}</th>" for m in HEADLINE)
    out.append(_sim_note(others))
    out.append(f'<table class="baseline-deltas"><caption>Each run minus the best baseline '
               f"({esc(base.model)}, {esc(base.run_key)}, ACC "
               f"{esc(format_metric(base.metric('acc')))}): differences of point estimates; "
               "for significance see the leaderboard's paired comparisons</caption>"
               f"<thead><tr><th>model</th>{head}</tr></thead><tbody>")
    for run in others:
        out.append(f'{_tr(run)}<td>{_model_cell(run)}</td>{_delta_cells(run, base)}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _delta_cells(run: RunReport, base: RunReport) -> str:
    """One cell per headline metric: run minus base, or why there is no difference."""
    cells = []
    for m in HEADLINE:
        d = delta(run.metric(m), base.metric(m))
        if d is None:
            missing = run.metric(m) if value_of(run.metric(m)) is None else base.metric(m)
            cells.append(_num_td(absent(missing), False))
        else:
            cells.append(_num_td(signed(d), True))
    return "".join(cells)


def _finetune_delta_html(rows: list[RunReport], setting: str) -> str:
    """Each fine-tuned model against the model it was fine-tuned from (the paper's "+RoleCS"
    rows); nothing when no fine-tuned model was evaluated."""
    tuned = [r for r in rows if r.base]
    if not tuned:
        return ""
    by_model = {r.model: r for r in rows}
    head = "".join(f"<th>\u0394 {esc(METRIC_LABELS.get(m, m))}</th>" for m in HEADLINE)
    out = [f"<h3>Fine-tuned against its base \u2014 {esc(setting)} context</h3>",
           _sim_note(tuned),
           '<table class="finetune-deltas"><caption>Each fine-tuned model minus the model it '
           "was fine-tuned from (finetune.jobs): differences of point estimates</caption>"
           f"<thead><tr><th>model</th><th>base</th>{head}</tr></thead><tbody>"]
    for run in tuned:
        base = by_model.get(run.base or "")
        cells = (_delta_cells(run, base) if base else
                 f'<td colspan="{len(HEADLINE)}" class="absent">base not evaluated in this '
                 "setting</td>")
        out.append(f"{_tr(run)}<td>{_model_cell(run)}</td><td>{esc(run.base)}</td>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _side_by_side_html(runs: list[RunReport]) -> str:
    """Per model (and dataset), its reference and generated figures next to each other; with
    several runs of one model in a setting, the best-ACC one."""
    groups: dict[tuple[str, str, str], dict[str, RunReport]] = {}
    for setting in SETTINGS:
        for run in leaderboard(runs, setting):
            groups.setdefault((run.model, run.kind, run.dataset), {}).setdefault(setting, run)
    out = ["<h2>Reference vs generated context</h2>",
           '<p class="small">The same model in both settings; \u0394 = generated minus '
           "reference (point estimates).</p>", '<div class="grid">']
    for (model, kind, dataset), by_setting in groups.items():
        sim = kind == "simulator"
        ref, gen = by_setting.get("reference"), by_setting.get("generated")
        caption = f"{esc(model)} <span class=\"kind\">{esc(kind)}</span> \u2014 {esc(dataset)}"
        if sim:
            caption += f' <span class="simlabel">{esc(SIMULATOR_LABEL)}</span>'
        rk = esc(ref.run_key) if ref else "no run"
        gk = esc(gen.run_key) if gen else "no run"
        out.append(f'<table class="side-by-side"><caption>{caption}</caption><thead><tr>'
                   f"<th>metric</th><th>reference<br><span class=\"small\">{rk}</span></th>"
                   f"<th>generated<br><span class=\"small\">{gk}</span></th><th>\u0394</th>"
                   "</tr></thead><tbody>")
        for m in HEADLINE:
            rm = ref.metric(m) if ref else None
            gm = gen.metric(m) if gen else None
            d = delta(gm, rm)
            if d is not None:
                diff = signed(d)
            elif ref and gen:  # both ran: say why there is no difference
                diff = absent(rm if value_of(rm) is None else gm)
            else:
                diff = NO_FIGURE
            cells = [_num_td(format_metric(rm) if ref else NO_FIGURE, value_of(rm) is not None),
                     _num_td(format_metric(gm) if gen else NO_FIGURE, value_of(gm) is not None),
                     _num_td(diff, d is not None)]
            row = '<tr class="sim">' if sim else "<tr>"
            out.append(f"{row}<td>{esc(METRIC_LABELS.get(m, m))}</td>{''.join(cells)}</tr>")
        out.append("</tbody></table>")
    out.append("</div>")
    return "".join(out)


def _published_html(runs: list[RunReport]) -> str:
    label = esc(published.PUBLISHED_LABEL)
    heads = "".join(f"<th>{esc(h)}</th>" for _, h, _ in published.COLUMNS)
    out = ['<section class="paper" id="published">',
           f"<h2>The paper's published figures \u2014 {label}, not ours</h2>",
           f'<p class="small">Source: {esc(published.SOURCE)}. Reference context, x100. These '
           "numbers were not measured by this project; they are shown only for comparison.</p>",
           f'<table class="published"><caption>{label}: reference-context results as printed '
           f"in the paper</caption><thead><tr><th>model</th><th>source</th>{heads}</tr></thead>"
           "<tbody>"]
    for row in published.REFERENCE_CONTEXT:
        cells = "".join(_num_td(f"{row.get(col):.2f}", True) for col, _, _ in published.COLUMNS)
        out.append(f"<tr><td>{esc(row.model)}</td><td>{label}</td>{cells}</tr>")
    out.append("</tbody></table>")
    out.append(f'<p class="small">{esc(published.GENERATED_NOTE)}</p>')

    ours = leaderboard(runs, "reference")
    dheads = "".join(f"<th>\u0394 {esc(h)}</th>" for _, h, _ in published.COLUMNS)
    out.append(f"<h3>Our reference-context runs minus the {label} figures</h3>")
    if not ours:
        out.append('<p class="small">No reference-context run of ours.</p>')
    else:
        out.append(_sim_note(ours))
        out.append('<table class="published-deltas"><caption>Ours minus the paper\'s (point '
                   "estimates; different test turns, tokenisation and BERTScore backbone may "
                   "account for part of any gap)</caption><thead><tr><th>our run</th>"
                   f"<th>{label} row</th>{dheads}</tr></thead><tbody>")
        for run in ours:
            for row, why in published_comparisons(run):
                cells = []
                for col, _, ours_name in published.COLUMNS:
                    if ours_name is None:
                        cells.append(_num_td("not in our metrics", False))
                        continue
                    mv = run.metric(ours_name)
                    v = value_of(mv)
                    cells.append(_num_td(absent(mv), False) if v is None
                                 else _num_td(signed(v - row.get(col)), True))
                out.append(f"{_tr(run)}<td>{_model_cell(run)} <span class=\"small\">"
                           f"{esc(run.run_key)}</span></td><td>{esc(row.model)} "
                           f'<span class="small">({esc(why)})</span></td>{"".join(cells)}</tr>')
        out.append("</tbody></table>")

    gen = leaderboard(runs, "generated")
    if gen:
        out.append(f"<h3>Our generated-context ACC minus the paper's best there "
                   f"({published.GENERATED_BEST_ACC:.2f}, {esc(published.GENERATED_BEST_MODEL)},"
                   f" {label})</h3>{_sim_note(gen)}"
                   '<table class="published-generated"><thead><tr><th>our run</th><th>ACC</th>'
                   "<th>\u0394 ACC</th></tr></thead><tbody>")
        for run in gen:
            mv = run.metric("acc")
            v = value_of(mv)
            d = NO_FIGURE if v is None else signed(v - published.GENERATED_BEST_ACC)
            out.append(f"{_tr(run)}<td>{_model_cell(run)}</td>"
                       f"{_num_td(format_metric(mv), v is not None)}"
                       f"{_num_td(d, v is not None)}</tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def _setting_html(runs: list[RunReport], setting: str) -> str:
    rows = leaderboard(runs, setting)
    out = [f'<section class="setting" id="setting-{esc(setting)}">'
           f"<h2>{esc(SETTING_TITLES[setting])}</h2>"]
    if not rows:
        out.append('<p class="small">No runs in this setting.</p></section>')
        return "".join(out)
    out += [_sim_note(rows), _leaderboard_html(rows, setting), _metric_bars_html(rows, setting),
            _baseline_delta_html(rows, setting), _finetune_delta_html(rows, setting),
            _strategy_f1_html(rows, setting),
            _phase_html(rows, setting), _confusion_html(rows, setting), "</section>"]
    return "".join(out)


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document that needs nothing but a browser."""
    sims = sorted({r.model for r in data.runs if r.is_simulator})
    banner = ""
    if sims:
        banner = (f'<div class="banner"><strong>{esc(SIMULATOR_LABEL)}:</strong> this report '
                  f"holds runs of the offline simulator ({esc(', '.join(sims))}). Their "
                  "figures test the pipeline; they say nothing about any model.</div>")
    note = f"<p>{esc(data.dataset_note)}</p>" if data.dataset_note else ""
    body = [banner, note]
    body += [_setting_html(data.runs, s) for s in SETTINGS]
    body += [_side_by_side_html(data.runs) if data.runs else "", _published_html(data.runs)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            "<title>CSC evaluation report</title>"
            f"<style>{CSS}</style></head><body>"
            "<h1>CSC evaluation report</h1>"
            f'<p class="small">Generated {esc(data.generated_at)} \u00b7 {len(data.runs)} '
            f"run(s)</p>{''.join(body)}</body></html>\n")


def write_report(data: ReportData, path: Path) -> Path:
    """Write the HTML report so a reader never sees half a file: render, write a temporary file
    beside the target, fsync, then os.replace it into place."""
    path = Path(path)
    page = render_html(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would keep the report from its readers
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
