"""The evaluation report (csc/eval/report*.py) on hand-built Evaluations: leaderboard order, interval
formatting, 'not computed' never shown as 0, escaping, the simulator label, the paper's figures
kept apart, hand-computed deltas, the Markdown table, the atomic write, and that the page loads
nothing from anywhere (statically, and in a headless Chromium when one is installed)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from csc.eval import published
from csc.eval.report import (
    SIMULATOR_LABEL,
    ReportData,
    RunReport,
    best_baseline,
    format_metric,
    leaderboard,
    signed,
)
from csc.eval.report_html import render_html, write_report
from csc.eval.report_markdown import render_markdown
from csc.eval.svg import heatmap
from csc.eval.types import (
    HEADLINE,
    NOT_COMPUTED,
    Comparison,
    Evaluation,
    MetricValue,
    StrategyScore,
)

HOSTILE = "<script>alert(1)</script>"
SIM = "sim-evaluator"


# --- fixtures -------------------------------------------------------------------------------


def _mv(name: str, value: float | None, status: str = "computed") -> MetricValue:
    if value is None or status != "computed":
        return MetricValue(name, value, status=status, n=500)
    return MetricValue(name, value, value - 1.5, value + 1.5, n=500)


def ev(acc: float | None, **over: float | MetricValue) -> Evaluation:
    """An Evaluation whose figures follow from its ACC unless overridden."""
    base = 0.0 if acc is None else acc
    values = {"acc": acc, "macro_f1": base - 5, "stage_acc": base + 10, "bleu2": 10.0,
              "bleu4": 4.0, "rouge_l": 7.0, "bertscore": 65.0, "distinct1": 5.0,
              "distinct2": 30.0, "resp_len": 42.0, "parse_failures": 1.0}
    headline = {}
    for name in HEADLINE:
        v = over.get(name, values[name])
        if isinstance(v, MetricValue):
            headline[name] = v
        elif v is None:
            headline[name] = _mv(name, None, NOT_COMPUTED)
        else:
            headline[name] = _mv(name, float(v))
    per = [StrategyScore(i, 50.0 + i, 40.0 + i, 45.0 + i, 10 * i) for i in range(1, 13)]
    confusion = [[(7 if p == g else 1) for p in range(12)] + [2 if g == 4 else 0]
                 for g in range(12)]
    phases = {"connecting": 90.0, "identifying": base, "exploring": base - 3,
              "resolving": base + 2, "maintaining": 70.0}
    return Evaluation(headline, per, confusion, phases)


def cmp(diff: float, significant: bool) -> dict[str, Comparison]:
    return {"acc": Comparison("acc", diff, diff - 2.0, diff + 2.0, significant)}


QWEN = "Qwen2.5-7B-Instruct + RoleCS"  # a name the paper's table has


def runs() -> list[RunReport]:
    """Two baselines, a model with BERTScore not computed, and a simulator whose ACC beats all
    of them (so the label, not the rank, has to keep it from reading as a model's result); the
    model, a baseline and the simulator again in the generated setting."""
    return [
        RunReport("ref-majority", "majority-strategy", "baseline", "reference", "csconv-v1", 500,
                  ev(20.0), cmp(11.7, False)),
        RunReport("ref-random", "random-strategy", "baseline", "reference", "csconv-v1", 500,
                  ev(8.3)),
        RunReport("ref-qwen", QWEN, "model", "reference", "csconv-v1", 500,
                  ev(44.27, bertscore=None), cmp(24.27, True)),
        RunReport("ref-sim", SIM, "simulator", "reference", "csconv-v1", 500, ev(60.0),
                  cmp(15.73, True)),
        RunReport("gen-majority", "majority-strategy", "baseline", "generated", "csconv-v1", 500,
                  ev(19.0)),
        RunReport("gen-qwen", QWEN, "model", "generated", "csconv-v1", 500,
                  ev(38.0, bleu2=9.0, bertscore=None), cmp(19.0, True)),
        RunReport("gen-sim", SIM, "simulator", "generated", "csconv-v1", 500, ev(55.0),
                  cmp(17.0, True)),
    ]


def data(extra: list[RunReport] | None = None, note: str = "CSConv v1, 500 turns") -> ReportData:
    return ReportData(runs() + (extra or []), "2026-01-02T03:04:05Z", note)


class Tables(HTMLParser):
    """Every <table> as (class, rows of cell texts), every <svg>'s text, and every tag seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.svgs: list[str] = []
        self.captions: list[str] = []  # one per table, '' when it has none
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._svg: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "table":
            self.tables.append((dict(attrs).get("class") or "", []))
            self.captions.append("")
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "svg":
            self._svg = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "caption" and self._caption is not None:
            self.captions[-1] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag == "svg" and self._svg is not None:
            self.svgs.append(" ".join(self._svg))
            self._svg = None

    def handle_data(self, text):
        if self._cell is not None:
            self._cell.append(text)
        if self._svg is not None:
            self._svg.append(text)
        if self._caption is not None:
            self._caption.append(text)


def parse(page: str) -> Tables:
    p = Tables()
    p.feed(page)
    return p


def table(page: str, cls: str, index: int = 0) -> list[list[str]]:
    found = [rows for c, rows in parse(page).tables if cls in c.split()]
    return found[index]


def row_of(rows: list[list[str]], text: str) -> list[str]:
    hits = [r for r in rows if any(text in c for c in r)]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def column(rows: list[list[str]], header: str) -> int:
    return rows[0].index(header)


# --- leaderboard ----------------------------------------------------------------------------


def test_leaderboard_is_sorted_by_acc_within_its_setting():
    assert [r.run_key for r in leaderboard(runs(), "reference")] == [
        "ref-sim", "ref-qwen", "ref-majority", "ref-random"]
    assert [r.run_key for r in leaderboard(runs(), "generated")] == [
        "gen-sim", "gen-qwen", "gen-majority"]
    rows = table(render_html(data()), "leaderboard")
    run_col = column(rows, "run")
    assert [r[run_col] for r in rows[1:]] == ["ref-sim", "ref-qwen", "ref-majority", "ref-random"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    gen_rows = table(render_html(data()), "leaderboard", 1)
    assert [r[run_col] for r in gen_rows[1:]] == ["gen-sim", "gen-qwen", "gen-majority"]


def test_a_run_without_acc_goes_last_even_below_zero():
    none = RunReport("a-none", "m1", "model", "reference", "d", 1, ev(None))
    zero = RunReport("z-zero", "m2", "model", "reference", "d", 1, ev(0.0))
    assert [r.run_key for r in leaderboard([none, zero], "reference")] == ["z-zero", "a-none"]


def test_best_baseline_is_the_highest_acc_baseline_of_the_setting():
    assert best_baseline(runs(), "reference").run_key == "ref-majority"
    assert best_baseline(runs(), "generated").run_key == "gen-majority"


def test_interval_format():
    assert format_metric(MetricValue("acc", 42.58, 41.234, 44.04)) == "42.6 [41.2\u201344.0]"
    assert format_metric(MetricValue("acc", 42.58)) == "42.6"
    rows = table(render_html(data()), "leaderboard")
    qwen = row_of(rows, "ref-qwen")
    assert qwen[column(rows, "ACC")] == "44.3 [42.8\u201345.8]"
    assert qwen[column(rows, "B-2")] == "10.0 [8.5\u201311.5]"


def test_not_computed_is_never_shown_as_zero():
    # value 0.0 with a non-computed status breaks the contract; the status still wins
    assert format_metric(MetricValue("bertscore", 0.0, status=NOT_COMPUTED)) == NOT_COMPUTED
    assert format_metric(MetricValue("bertscore", None, status=NOT_COMPUTED)) == NOT_COMPUTED
    assert format_metric(None) == "not reported"
    page = render_html(data())
    lb = table(page, "leaderboard")
    bs = column(lb, "BERTScore")
    assert row_of(lb, "ref-qwen")[bs] == NOT_COMPUTED
    # against the best baseline and against the paper, BERTScore stays 'not computed'
    deltas = table(page, "baseline-deltas")
    assert row_of(deltas, QWEN)[column(deltas, "\u0394 BERTScore")] == NOT_COMPUTED
    pub = table(page, "published-deltas")
    same = next(r for r in pub if "same model" in " ".join(r))
    assert same[column(pub, "\u0394 BS")] == NOT_COMPUTED
    # the BERTScore bar chart writes the status where the bar would be, and draws no bar for it
    chart = next(s for s in re.findall(r"<svg.*?</svg>", page, re.S)
                 if "BERTScore \u2014 reference" in s)
    assert NOT_COMPUTED in chart
    assert f"{html.escape(QWEN)} (ref-qwen): " not in chart  # a bar's tooltip
    assert NOT_COMPUTED in render_markdown(data())


def test_significance_marker_from_vs_next():
    rows = table(render_html(data()), "leaderboard")
    last = column(rows, "vs next row")
    assert "significant" in row_of(rows, "ref-qwen")[last]
    assert "+24.3 [22.3\u201326.3]" in row_of(rows, "ref-qwen")[last]
    assert row_of(rows, "ref-majority")[last].endswith("n.s.")
    assert "no comparison" in row_of(rows, "ref-random")[last]


# --- escaping, simulator, published -----------------------------------------------------------


def test_everything_from_data_is_escaped():
    hostile = RunReport('"><b onmouseover="x', HOSTILE, "model", "generated", "<i>d</i>", 3,
                        ev(30.0))
    page = render_html(data([hostile], note="<img src=x onerror=alert(1)>"))
    p = parse(page)
    assert not [t for t, _ in p.tags if t in ("script", "img", "b", "i", "link", "iframe")]
    assert not [a for _, attrs in p.tags for a, _ in attrs if a.startswith("on")]
    assert html.escape(HOSTILE) in page
    assert HOSTILE in " ".join(c for _, rows in p.tables for r in rows for c in r)  # as text
    assert any(HOSTILE in s for s in p.svgs)  # SVG labels too
    md = render_markdown(data([hostile]))
    assert "<script" not in md and "&lt;script&gt;" in md


def test_simulator_is_labelled_on_every_table_and_chart():
    page = render_html(data())
    p = parse(page)
    with_sim = [(cap, rows) for cap, (_, rows) in zip(p.captions, p.tables, strict=True)
                if SIM in cap + str(rows)]
    assert len(with_sim) >= 11  # leaderboards, deltas, F1, phases, side by side, published
    for cap, rows in with_sim:
        assert SIMULATOR_LABEL in cap + str(rows), rows[:2]
        if SIM in cap:  # a table about the simulator alone says so in its caption
            assert SIMULATOR_LABEL in cap
        for r in rows:  # and on the simulator's own row, where the row names it
            if any(SIM in c for c in r):
                assert any(SIMULATOR_LABEL in c for c in r), r
    charts = [s for s in p.svgs if SIM in s]
    assert len(charts) >= 2 * len(HEADLINE) + 2  # bars per metric and setting, 2 heatmaps
    for s in charts:
        assert SIMULATOR_LABEL in s
    assert SIMULATOR_LABEL in html.unescape(page.split("<section", 1)[0])  # the banner
    for line in render_markdown(data()).splitlines():
        if SIM in line and line.startswith("| "):
            assert SIMULATOR_LABEL in line.replace("\\", "")


def test_a_simulator_cannot_be_called_a_model():
    with pytest.raises(ValueError, match="simulator"):
        RunReport("r", "sim-echo", "model", "reference", "d", 1, ev(1.0))
    with pytest.raises(ValueError, match="kind"):
        RunReport("r", "x", "simulated", "reference", "d", 1, ev(1.0))
    with pytest.raises(ValueError, match="setting"):
        RunReport("r", "x", "model", "gold", "d", 1, ev(1.0))


def test_published_figures_carry_over():
    rows = {r.model: r for r in published.REFERENCE_CONTEXT}
    assert len(rows) == 11
    assert (rows["GPT-4o"].bleu2, rows["GPT-4o"].acc) == (8.13, 42.58)
    assert rows["LLaMA3.1-8B-Instruct + RoleCS"].bleurt == 52.13
    assert published.best_reference_row().model == "Qwen2.5-72B-Instruct + RoleCS"
    assert published.GENERATED_BEST_ACC == 39.44
    assert published.match("meta-llama/Meta-Llama-3.1-8B-Instruct").model == \
        "LLaMA3.1-8B-Instruct"
    assert published.match("qwen2.5-7b-instruct-rolecs").model == QWEN
    assert published.match("majority-strategy") is None


def test_published_rows_are_separate_and_labelled():
    page = render_html(data())
    pub = table(page, "published")
    assert len(pub) == 1 + 11
    assert all(r[1] == published.PUBLISHED_LABEL for r in pub[1:])
    assert row_of(pub, "GPT-4o")[2:] == ["8.13", "2.97", "4.12", "64.26", "51.27", "42.58"]
    section = page[page.index('<section class="paper"'):]
    assert "published (paper)" in section[:400] and "not ours" in section[:400]
    # none of the paper's rows is among ours
    for cls in ("leaderboard", "baseline-deltas", "side-by-side", "strategy-f1", "phase-acc"):
        for _, rows in [t for t in parse(page).tables if cls in t[0]]:
            text = str(rows)
            assert "GPT-4o" not in text and "42.58" not in text and "39.44" not in text
    assert len(table(page, "leaderboard")) == 1 + 4
    assert "GPT-4o" not in render_markdown(data())


# --- deltas -------------------------------------------------------------------------------------


def test_deltas_against_the_best_baseline():
    page = render_html(data())
    ref = table(page, "baseline-deltas")
    assert "majority-strategy" not in str(ref[1:])  # baselines are the yardstick, not rows
    qwen = row_of(ref, QWEN)
    assert qwen[column(ref, "\u0394 ACC")] == "+24.27"  # 44.27 - 20.0
    assert qwen[column(ref, "\u0394 Macro-F1")] == "+24.27"  # 39.27 - 15.0
    assert qwen[column(ref, "\u0394 B-2")] == "+0.00"
    gen = table(page, "baseline-deltas", 1)
    qg = row_of(gen, QWEN)
    assert qg[column(gen, "\u0394 ACC")] == "+19.00"  # 38.0 - 19.0
    assert qg[column(gen, "\u0394 B-2")] == "-1.00"  # 9.0 - 10.0
    assert row_of(gen, SIM)[column(gen, "\u0394 ACC")] == "+36.00"  # 55.0 - 19.0


def test_deltas_against_the_paper_and_between_settings():
    page = render_html(data())
    pub = table(page, "published-deltas")
    same = row_of(pub, "same model")
    assert QWEN in same[0] and QWEN in same[1]
    assert same[column(pub, "\u0394 ACC")] == "+1.31"  # 44.27 - 42.96
    assert same[column(pub, "\u0394 B-2")] == "-1.23"  # 10.0 - 11.23
    assert same[column(pub, "\u0394 BR")] == "not in our metrics"
    best = next(r for r in pub if "ref-qwen" in r[0] and "best ACC" in r[1])
    assert best[column(pub, "\u0394 ACC")] == "+0.98"  # 44.27 - 43.29
    base = [r for r in pub if "ref-majority" in r[0]]
    assert len(base) == 1 and base[0][column(pub, "\u0394 ACC")] == "-23.29"  # 20.0 - 43.29
    gen = table(page, "published-generated")
    assert row_of(gen, "Qwen")[2] == "-1.44"  # 38.0 - 39.44
    qrows = next(rows for c, rows in parse(page).tables
                 if c == "side-by-side" and "ref-qwen" in rows[0][1] and "gen-qwen" in rows[0][2])
    by_metric = {r[0]: r[1:] for r in qrows[1:]}
    assert by_metric["ACC"] == ["44.3 [42.8\u201345.8]", "38.0 [36.5\u201339.5]", "-6.27"]
    assert by_metric["BERTScore"] == [NOT_COMPUTED, NOT_COMPUTED, NOT_COMPUTED]


def test_signed_never_prints_minus_zero():
    assert signed(-0.001) == "+0.00"
    assert signed(-0.006) == "-0.01"
    assert signed(1.5, 1) == "+1.5"


# --- other sections --------------------------------------------------------------------------


def test_strategy_f1_phases_and_confusion():
    page = render_html(data())
    f1 = table(page, "strategy-f1")
    assert len(f1[0]) == 1 + 12 and "Greeting" in f1[0][1] and "Others" in f1[0][12]
    assert row_of(f1, QWEN)[1:] == [f"{45.0 + i:.1f}" for i in range(1, 13)]
    ph = table(page, "phase-acc")
    assert ph[0][1:] == ["connecting", "identifying", "exploring", "resolving", "maintaining"]
    assert row_of(ph, QWEN)[1:3] == ["90.0", "44.3"]
    heat = [s for s in parse(page).svgs if "unreadable" in s]
    assert len(heat) == 7  # one per run
    assert page.count('class="chart heatmap"') == 7


def test_confusion_of_the_wrong_shape_is_reported_not_drawn():
    bad = Evaluation(ev(1.0).headline, [], [[1] * 12] * 12, {})
    page = render_html(ReportData([RunReport("r", "m", "model", "reference", "d", 1, bad)], "t"))
    assert "expected 12\u00d713, got 12\u00d712" in page
    assert 'class="chart heatmap"' not in page


def test_heatmap_shades_by_row_share():
    svg = heatmap("t", ["a", "b"], ["x", "y"], [[3, 1], [0, 0]], col_titles=["X", "Y"])
    fills = re.findall(r'<rect[^>]*fill="(rgb\([^)]*\))"', svg)
    # 3/4 and 1/4 of row a; row b is empty, so white (not a division by zero)
    assert fills == ["rgb(88,127,172)", "rgb(200,212,228)", "rgb(255,255,255)",
                     "rgb(255,255,255)"]
    assert ">3</text>" in svg and ">0</text>" not in svg and "a \u2192 Y: 1" in svg


def test_empty_report_still_renders():
    page = render_html(ReportData([], "t"))
    assert "No runs in this setting." in page and 'class="published"' in page


# --- markdown -----------------------------------------------------------------------------------


def test_markdown_leaderboards():
    text = render_markdown(data([RunReport("ref-pipe", "a|b", "model", "reference", "d", 1,
                                           ev(1.0))]))
    lines = text.splitlines()
    tables = [[line for line in block.splitlines() if line.startswith("|")]
              for block in text.split("## ")[1:]]
    assert len(tables) == 2
    ref, gen = tables
    head = [c.strip() for c in ref[0].strip("|").split("|")]
    assert head[:6] == ["#", "model", "kind", "run", "dataset", "turns"] and "ACC" in head
    assert ref[1].startswith("|---:|---|")
    for line in ref + gen:  # an escaped | in a name does not add a cell
        assert len(re.findall(r"(?<!\\)\|", line)) == len(head) + 1, line
    runs_in_order = [re.split(r"(?<!\\)\|", line)[4].strip() for line in ref[2:]]
    assert runs_in_order == ["ref-sim", "ref-qwen", "ref-majority", "ref-random", "ref-pipe"]
    qwen = next(line for line in ref if "ref-qwen" in line)
    cells = dict(zip(head, (c.strip() for c in re.split(r"(?<!\\)\|", qwen)[1:-1]), strict=True))
    assert cells["ACC"] == "44.3 [42.8\u201345.8]" and cells["B-2"] == "10.0 [8.5\u201311.5]"
    assert cells["BERTScore"] == NOT_COMPUTED and cells["turns"] == "500"
    assert cells["vs next row"] == "ACC +24.3 [22.3\u201326.3] \u2731 significant"
    assert "a\\|b" in text
    assert any(SIMULATOR_LABEL in line.replace("\\", "") for line in lines if "gen-sim" in line)


# --- writing ----------------------------------------------------------------------------------


def test_write_report_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out" / "report.html"
    assert write_report(data(), target) == target
    assert target.read_text(encoding="utf-8") == render_html(data())
    assert target.stat().st_mode & 0o777 == 0o644  # readable, not mkstemp's 0600
    before = target.read_bytes()

    def boom(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", boom)
    other = ReportData(runs()[:1], "later")
    with pytest.raises(OSError, match="disk gone"):
        write_report(other, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


# --- offline ------------------------------------------------------------------------------------

EXTERNAL = re.compile(r"""(?:\b(?:src|href|xlink:href|action|poster)\s*=\s*["']?\s*|url\(\s*["']?\s*)
                          (?:https?:)?//""", re.I | re.X)


def test_page_loads_nothing_from_anywhere():
    page = render_html(data([RunReport("x", HOSTILE, "model", "reference", "d", 1, ev(3.0))]))
    assert not EXTERNAL.search(page)
    assert "http://" not in page and "https://" not in page
    lowered = page.lower()
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered
    for _, attrs in parse(page).tags:
        for name, value in attrs:
            if name in ("src", "href"):
                assert (value or "").startswith(("#", "data:")), (name, value)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert EXTERNAL.search('<img src="https://x/y.png">')  # the check itself catches these
    assert EXTERNAL.search("background:url( 'http://x')")
    assert EXTERNAL.search('<a href=//cdn.example/x>')


def test_render_time():
    many = [RunReport(f"r{i}", f"model-{i}", "model", ("reference", "generated")[i % 2], "d",
                      500, ev(float(i))) for i in range(24)]
    start = time.perf_counter()
    page = render_html(ReportData(many, "t"))
    took = time.perf_counter() - start
    print(f"render_html, 24 runs: {took * 1000:.1f} ms, {len(page) / 1e6:.2f} MB")
    assert took < 2.0


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                      "google-chrome")) if p), None)


def test_headless_chromium_renders_the_page(tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    path = write_report(data([RunReport("x", HOSTILE, "model", "generated", "d", 1, ev(3.0))]),
                        tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    # The proxy points at a closed port: any request the page tried would fail, not leak out.
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--proxy-server=127.0.0.1:9", "--no-first-run", "--disable-extensions",
              f"--user-data-dir={tmp_path / 'profile'}"]
    result = subprocess.run([*common, "--dump-dom", path.as_uri()], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    p = parse(dom)
    boards = [rows for c, rows in p.tables if "leaderboard" in c.split()]
    assert len(boards) == 2 and len(boards[0]) == 1 + 4
    assert "ref-sim" in boards[0][1][2] and SIMULATOR_LABEL in boards[0][1][1]
    assert len(p.svgs) >= 2 * len(HEADLINE) + 8
    assert not [t for t, _ in p.tags if t == "script"]
    assert HOSTILE in str(boards[1])  # shown as text, not run
    result = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1400,2000",
                             path.as_uri()], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_report_modules_do_not_import_prefect():
    src = Path(__file__).resolve().parents[1] / "csc" / "eval"
    for name in ("report.py", "svg.py", "published.py"):
        text = (src / name).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(?:import|from)\s+prefect\b", text, re.M), name
