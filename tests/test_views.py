"""The analyst views (sql/views/): framework dimensions, names, BIGINT counts, the funnel's
shape, and every example query in docs/analysts.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest
from helpers import point_llm_at

from csc.csconv import service
from csc.csconv.plan import csconv_stages
from csc.csconv.report import render
from csc.framework import BY_ID, STRATEGIES, Phase
from csc.ingest.service import ingest_path
from csc.kit import runner
from csc.paths import PROJECT_ROOT, SAMPLES
from csc.rolecs.intake import load_persona_file
from csc.rolecs.service import mark_near_duplicates
from csc.rolecs.stage import RolecsStage
from simulator import SimConfig, run_in_thread
from warehouse.csconv_store import funnel_numbers
from warehouse.db import connect, query

ANALYSTS_MD = PROJECT_ROOT / "docs" / "analysts.md"


# -- warehouses ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples ingested and run through CSConv and annotation against the offline
    simulator, with the domain functions (no Prefect), and a few RoleCS dialogues simulated
    and checked for near-duplicates: every marts view has real rows."""
    folder = tmp_path_factory.mktemp("views")
    db = folder / "wh.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSC_WAREHOUSE", str(db))
        ingest_path(SAMPLES, "ingest-run", db=db)
        with run_in_thread(SimConfig(seed=3)) as sim:
            point_llm_at(mp, sim.base_url, folder / "llm.sqlite")
            for ref in csconv_stages():
                runner.run_all(ref.build(), "csconv-run", batch_size=50)
            service.measure_agreement("csconv-run")
            load_persona_file(None)
            runner.run_all(RolecsStage.ref(batch="views").build(), "rolecs-run", limit=2,
                           batch_size=50)
            with connect(db) as con:
                mark_near_duplicates(con)
            # evaluation: a baseline and the simulator's candidate, measured
            from csc.eval import service as eval_service
            from csc.eval.baseline_run import run_baseline
            from csc.eval.predict import PredictionStage
            from csc.eval.registry import ModelEntry

            run_baseline(ModelEntry("strategy-prior", baseline="strategy_prior"), "reference",
                         db=db)
            runner.run_all(PredictionStage.ref(model=os.environ["CSC_LLM_MODEL"],
                                               setting="reference").build(), "eval-run")
            eval_service.refresh_metrics(db=db, resamples=50)
        # the data-quality gate over all of it (marts.quality_history)
        from csc.quality.gate import run_gate

        gate = run_gate(db, docs_dir=folder / "docs", run_id="gate-run")
        assert gate.passed, gate.message()
    return db


@pytest.fixture
def analyst(pipeline_db: Path):
    """A read-only session, as an analyst opens the file."""
    con = duckdb.connect(str(pipeline_db), read_only=True)
    yield con
    con.close()


def query_rows(db: Path, sql: str) -> list[tuple]:
    with connect(db) as con:
        return query(con, sql)


def marts_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int | None]]:
    return query(con, "SELECT table_name, column_name, data_type, numeric_scale "
                      "FROM information_schema.columns WHERE table_schema = 'marts' "
                      "ORDER BY table_name, ordinal_position")


def wide_integer_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """marts columns that arrive as float64 in pandas or Decimal in polars."""
    return [(t, c) for t, c, dtype, scale in marts_columns(con)
            if dtype in ("HUGEINT", "UHUGEINT") or (dtype.startswith("DECIMAL") and scale == 0)]


def raw_dialogue(con, did: str, language: str = "zh", n: int = 10, pii: int = 0,
                 passed: bool = True) -> None:
    con.execute("INSERT INTO raw.dialogues VALUES (?, 'jsonl', ?, 'f.jsonl', 'sha', 1, 1, ?, "
                "NULL, ?, ?, 0, 0, ?, 'ingest-run', now())", [did, did, language, n, n, pii])
    con.execute("INSERT INTO staging.prefilter VALUES (?, 'rules-v1', ?, [], 10, 10, 5, 5, 30, "
                "0.0, 'ingest-run', now())", [did, passed])


def kept(con, did: str, version: str, at: str, language: str = "zh",
         strategies: tuple[int, ...] = ()) -> None:
    """A kept dialogue: a customer turn, then one supporter turn per strategy id."""
    cid = f"{did}-{version}"
    con.execute("INSERT INTO csconv.dialogues VALUES (?, ?, ?, ?, NULL, ?, ?, 1.0, 'sim-r', "
                "'p1', 'sim-j', 'r', ?::TIMESTAMP)",
                [cid, did, version, language, 1 + len(strategies), len(strategies), at])
    con.execute("INSERT INTO csconv.utterances VALUES (?, 0, 'customer', NULL, NULL, NULL, "
                "'hi')", [cid])
    for i, sid in enumerate(strategies, start=1):
        con.execute("INSERT INTO csconv.utterances VALUES (?, ?, 'supporter', ?, 'x', NULL, "
                    "'ok')", [cid, i, sid])


def rejected(con, did: str, version: str, step: str, at: str) -> None:
    con.execute("INSERT INTO csconv.rejects VALUES (?, ?, ?, 'why', 'r', ?::TIMESTAMP)",
                [did, version, step, at])


def dead_letter(con, dl_id: str, did: str, stage: str = "csconv") -> None:
    con.execute("INSERT INTO ops.llm_dead_letter VALUES (?, 'r', ?, 'rewriter', ?, 'h', "
                "'timeout', 3, now())", [dl_id, stage, did])


T1, T2 = "2025-01-01 10:00:00", "2025-01-02 10:00:00"


# -- marts.strategies and marts.stages ---------------------------------------------------------


def test_strategies_view_is_csc_framework(warehouse):
    expected = [(s.id, s.name, s.abbr, s.zh,
                 s.phase.value if s.phase else None,
                 s.phase.title if s.phase else None,
                 s.phase.zh if s.phase else None) for s in STRATEGIES]
    with connect(warehouse) as con:
        rows = query(con, "SELECT strategy_id, strategy_name, strategy_abbr, strategy_name_zh, "
                          "stage_id, stage_name, stage_name_zh FROM marts.strategies "
                          "ORDER BY strategy_id")
    assert rows == expected
    assert [r[0] for r in rows] == list(range(1, 13))


def test_stages_view_is_csc_framework(warehouse):
    with connect(warehouse) as con:
        rows = query(con, "SELECT stage_id, stage_name, stage_name_zh FROM marts.stages "
                          "ORDER BY stage_id")
    assert rows == [(s.value, s.title, s.zh) for s in Phase]


# -- names in the distribution and agreement views ----------------------------------------------


def test_csconv_strategy_distribution_counts_current_supporter_turns_and_names_them(warehouse):
    with connect(warehouse) as con:
        kept(con, "d1", "v1", T1, "zh", (1, 1, 6, 11))
        kept(con, "d3", "v2", T2, "en", (1, 7))
        kept(con, "d4", "v1", T1, "zh", (6, 6))  # superseded by a reject: not current
        rejected(con, "d4", "v2", "alternation", T2)
        rows = query(con, "SELECT language, strategy_id, turns, pct, strategy_name, "
                          "strategy_name_zh FROM marts.csconv_strategy_distribution "
                          "ORDER BY language, strategy_id")
    assert rows == [
        ("en", 1, 1, 50.0, "Greeting", "礼貌问候"),
        ("en", 7, 1, 50.0, "Information Delivery", "信息传达"),
        ("zh", 1, 2, 50.0, "Greeting", "礼貌问候"),
        ("zh", 6, 1, 25.0, "Providing Suggestions", "提供建议"),
        ("zh", 11, 1, 25.0, "Appreciation & Closure", "感谢与告别"),
    ]


def test_raw_strategy_distribution_keeps_unmapped_labels_with_null_names(warehouse):
    with connect(warehouse) as con:
        raw_dialogue(con, "d1")
        for utt, sid, kind in ((1, 1, "raw"), (3, 6, "raw"), (5, None, "raw"), (7, 6, "raw"),
                               (1, 9, "csconv")):
            con.execute("INSERT INTO csconv.annotations VALUES (?, 'd1', ?, ?, 'l', NULL, "
                        "'sim-a', 'p1', 'r', now())", [kind, utt, sid])
        rows = query(con, "SELECT source, language, strategy_id, turns, strategy_name, "
                          "strategy_name_zh FROM marts.raw_strategy_distribution "
                          "ORDER BY strategy_id NULLS LAST")
    assert rows == [
        ("jsonl", "zh", 1, 1, "Greeting", "礼貌问候"),
        ("jsonl", "zh", 6, 2, "Providing Suggestions", "提供建议"),
        ("jsonl", "zh", None, 1, None, None),
    ]


def test_label_agreement_latest_names_strategy_rows_only(warehouse):
    with connect(warehouse) as con:
        for run, at, scope, sid, n in (("r1", T1, "overall", None, 8),
                                       ("r1", T1, "strategy", 1, 3),
                                       ("r2", T2, "overall", None, 10),
                                       ("r2", T2, "strategy", 6, 4),
                                       ("r2", T2, "strategy", 12, 2)):
            con.execute("INSERT INTO csconv.label_agreement VALUES (?, ?, ?, ?, 0.9, 0.8, "
                        "?::TIMESTAMP, ?)", [run, scope, sid, n, at, f"key-{run}"])
        rows = query(con, "SELECT run_id, scope, strategy_id, n, strategy_name, "
                          "strategy_name_zh FROM marts.label_agreement_latest "
                          "ORDER BY strategy_id NULLS FIRST")
        columns = [c for t, c, _, _ in marts_columns(con) if t == "label_agreement_latest"]
    assert rows == [("r2", "overall", None, 10, None, None),
                    ("r2", "strategy", 6, 4, "Providing Suggestions", "提供建议"),
                    ("r2", "strategy", 12, 2, "Others", "其它")]
    assert columns[:7] == ["run_id", "scope", "strategy_id", "n", "accuracy", "kappa",
                           "computed_at"]  # the original columns, in their original order


def test_the_same_turns_measured_again_add_no_agreement_rows(warehouse):
    """Issue 16: a rerun used to add 13 rows each time; only a change of the turns compared
    (or of their labels) is a new measurement."""
    def label(con, utt: int, sid: int, model: str = "sim-a") -> None:
        con.execute("INSERT INTO csconv.annotations VALUES ('csconv', 'd1-v1', ?, ?, 'l', "
                    "NULL, ?, 'p1', 'r', now())", [utt, sid, model])

    def stored() -> list[tuple]:
        return query_rows(warehouse, "SELECT run_id, count(*), any_value(measured_key) "
                                     "FROM csconv.label_agreement GROUP BY ALL ORDER BY ALL")

    with connect(warehouse) as con:
        raw_dialogue(con, "d1")
        kept(con, "d1", "v1", T1, strategies=(1, 6))
        label(con, 1, 1)
        label(con, 2, 7)
    first = service.measure_agreement("run-1")
    again = service.measure_agreement("run-2")
    assert first["recorded"] and not again["recorded"]
    assert first | {"recorded": False} == again  # the same numbers, not stored twice
    assert [r[:2] for r in stored()] == [("run-1", 13)]
    with connect(warehouse) as con:  # a newer annotation of turn 2 agrees this time
        label(con, 2, 6, model="sim-b")
    changed = service.measure_agreement("run-3")
    assert changed["recorded"] and changed["accuracy"] == 1.0
    rows = stored()
    assert [r[:2] for r in rows] == [("run-1", 13), ("run-3", 13)] and rows[0][2] != rows[1][2]
    with connect(warehouse) as con:
        latest = query(con, "SELECT DISTINCT run_id, measured_key "
                            "FROM marts.label_agreement_latest")
    assert latest == [("run-3", rows[1][2])]


def test_names_on_a_pipeline_warehouse_match_the_framework(analyst):
    agreement = query(analyst, "SELECT scope, strategy_id, strategy_name, strategy_name_zh "
                               "FROM marts.label_agreement_latest")
    assert {r[0] for r in agreement} == {"overall", "strategy"}
    for scope, sid, name, zh in agreement:
        if scope == "overall":
            assert (sid, name, zh) == (None, None, None)
        else:
            assert (name, zh) == (BY_ID[sid].name, BY_ID[sid].zh)
    for view in ("csconv_strategy_distribution", "raw_strategy_distribution"):
        rows = query(analyst, f"SELECT strategy_id, strategy_name, strategy_name_zh "
                              f"FROM marts.{view} WHERE strategy_id IS NOT NULL")
        assert rows, view
        assert all((name, zh) == (BY_ID[sid].name, BY_ID[sid].zh) for sid, name, zh in rows)


# -- counts are BIGINT -----------------------------------------------------------------------


# -- the cross-stage views and the comments --------------------------------------------------


def test_strategy_distribution_adds_up_to_each_stages_own_view(analyst):
    per_stage = {
        "csconv": "SELECT language, strategy_id, turns FROM marts.csconv_strategy_distribution",
        "raw": "SELECT language, strategy_id, sum(turns)::BIGINT "
               "FROM marts.raw_strategy_distribution GROUP BY ALL",
        "rolecs": "SELECT language, strategy_id, turns FROM marts.rolecs_strategy_distribution",
    }
    for stage, own in per_stage.items():
        mine = query(analyst, "SELECT language, strategy_id, sum(turns)::BIGINT "
                              "FROM marts.strategy_distribution WHERE pipeline_stage = ? "
                              "GROUP BY ALL ORDER BY ALL", [stage])
        assert mine and mine == query(analyst, own + " ORDER BY ALL"), stage
    shares = query(analyst, "SELECT sum(pct) FROM marts.strategy_distribution GROUP BY "
                            "pipeline_stage, source, language")
    assert all(abs(total - 100) < 0.1 for (total,) in shares)
    names = query(analyst, "SELECT DISTINCT strategy_id, strategy_name, stage_id "
                           "FROM marts.strategy_distribution WHERE strategy_id IS NOT NULL")
    assert all(name == BY_ID[sid].name for sid, name, _ in names)


def test_llm_cost_daily_adds_up_to_llm_usage(analyst):
    daily = query(analyst, "SELECT stage, model, sum(calls)::BIGINT, sum(cache_hits)::BIGINT, "
                           "sum(requests)::BIGINT, round(sum(cost_usd), 6) "
                           "FROM marts.llm_cost_daily GROUP BY ALL ORDER BY ALL")
    usage = query(analyst, "SELECT stage, model, sum(calls)::BIGINT, sum(cache_hits)::BIGINT, "
                           "sum(calls - cache_hits)::BIGINT, round(sum(cost_usd), 6) "
                           "FROM marts.llm_usage GROUP BY ALL ORDER BY ALL")
    assert daily and daily == usage
    days = query(analyst, "SELECT DISTINCT day FROM marts.llm_cost_daily")
    assert days and all(isinstance(d, type(days[0][0])) for (d,) in days)


COMMENTED = ("strategy_distribution", "llm_cost_daily", "llm_usage", "leaderboard",
             "csconv_funnel", "rolecs_summary", "rolecs_outcomes", "rolecs_accepted",
             "label_agreement_latest")


def test_the_key_views_and_every_column_of_the_new_ones_carry_comments(analyst):
    """Read back through a read-only session, as an analyst's client shows them: DuckDB
    keeps COMMENT ON VIEW and COMMENT ON COLUMN of a view in the file."""
    described = dict(query(analyst, "SELECT view_name, comment FROM duckdb_views() "
                                    "WHERE schema_name = 'marts'"))
    missing = [v for v in COMMENTED if not described.get(v)]
    assert not missing, f"views without a comment: {missing}"
    columns = query(analyst, "SELECT table_name, column_name, comment FROM duckdb_columns() "
                             "WHERE schema_name = 'marts' AND table_name IN "
                             "('strategy_distribution', 'llm_cost_daily', 'csconv_funnel', "
                             "'rolecs_summary', 'label_agreement_latest')")
    bare = [f"{t}.{c}" for t, c, comment in columns if not comment]
    assert columns and not bare, f"columns without a comment: {bare}"


def test_comments_survive_the_views_being_recreated(warehouse):
    from warehouse.db import migrate

    with connect(warehouse) as con:
        migrate(con)  # every view replaced again (CREATE OR REPLACE drops a view's comments)
        comment = query(con, "SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' "
                             "AND table_name = 'llm_cost_daily' AND column_name = 'requests'")
    assert comment[0][0].startswith("Calls that reached the endpoint")


def test_the_width_check_catches_hugeint_and_decimal_sums():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts; CREATE VIEW marts.v AS SELECT sum(1) AS huge, "
                "sum(2::DECIMAL(10, 0)) AS dec0, 1.5::DECIMAL(5, 1) AS money, "
                "sum(1)::BIGINT AS fine")
    assert wide_integer_columns(con) == [("v", "huge"), ("v", "dec0")]


def test_no_marts_column_is_hugeint_or_decimal_0(analyst):
    views = {t for t, *_ in marts_columns(analyst)}
    assert {"ingest_by_source", "llm_usage", "csconv_funnel", "csconv_strategy_distribution",
            "raw_strategy_distribution", "label_agreement_latest", "strategies"} <= views
    assert wide_integer_columns(analyst) == []


def test_integer_columns_arrive_as_integers_in_polars_and_pandas(analyst):
    checked = set()
    for view, column, dtype, _ in marts_columns(analyst):
        if not re.fullmatch(r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|DECIMAL\(\d+,0\)",
                            dtype):
            continue
        rel = f'SELECT "{column}" FROM marts.{view}'
        assert query(analyst, f"SELECT count(*) FROM marts.{view}")[0][0] > 0, view
        assert analyst.sql(rel).pl().to_series().dtype.is_integer(), (view, column)
        assert pd.api.types.is_integer_dtype(analyst.sql(rel).df()[column]), (view, column)
        checked.add(f"{view}.{column}")
    assert {"ingest_by_source.utterances", "ingest_by_source.pii_masked",
            "llm_usage.attempts", "llm_usage.input_tokens", "csconv_funnel.dialogues",
            "csconv_strategy_distribution.turns", "raw_strategy_distribution.turns",
            "label_agreement_latest.n", "rolecs_summary.accepted",
            "rolecs_strategy_transitions.transitions", "rolecs_stage_coverage.dialogues",
            "leaderboard.rank", "eval_per_strategy.support"} <= checked


def test_ingest_sums_are_exact_bigints(warehouse):
    with connect(warehouse) as con:
        raw_dialogue(con, "a", n=10, pii=1)
        raw_dialogue(con, "b", n=12, pii=2)
        frame = con.sql("SELECT dialogues, utterances, pii_masked FROM marts.ingest_by_source").pl()
    assert frame.rows() == [(2, 22, 3)]
    assert frame.schema == pl.Schema({"dialogues": pl.Int64, "utterances": pl.Int64,
                                      "pii_masked": pl.Int64})


# -- the funnel --------------------------------------------------------------------------------


@pytest.fixture
def funnel_db(warehouse):
    """d1 kept; d2 rejected (length); d3 judged out under v1, kept under v2; d4 kept under v1,
    rejected (alternation) under v2; d5 dead-lettered twice, no outcome; d6 dead-lettered, then
    rejected (length); d7 not processed yet (an annotation dead letter does not count)."""
    with connect(warehouse) as con:
        for did in ("d1", "d2", "d3", "d4", "d5", "d6", "d7"):
            raw_dialogue(con, did)
        raw_dialogue(con, "d8", passed=False)
        kept(con, "d1", "v1", T1, strategies=(1, 2, 11))
        rejected(con, "d2", "v1", "length", T1)
        rejected(con, "d3", "v1", "judge", T1)
        kept(con, "d3", "v2", T2, strategies=(1, 2, 11))
        kept(con, "d4", "v1", T1, strategies=(1, 2, 11))
        rejected(con, "d4", "v2", "alternation", T2)
        dead_letter(con, "x1", "d5")
        dead_letter(con, "x2", "d5")
        dead_letter(con, "x3", "d6")
        rejected(con, "d6", "v1", "length", T2)
        dead_letter(con, "x4", "d7", stage="annotate")
    return warehouse


def test_funnel_separates_outcome_from_step(funnel_db):
    with connect(funnel_db) as con:
        rows = query(con, "SELECT outcome, step, dialogues FROM marts.csconv_funnel")
        columns = [c for t, c, _, _ in marts_columns(con) if t == "csconv_funnel"]
    assert columns == ["outcome", "step", "dialogues"]
    assert sorted(rows, key=str) == sorted([("kept", None, 2), ("rejected", "length", 2),
                                            ("rejected", "alternation", 1),
                                            ("dead_lettered", None, 1)], key=str)


def test_funnel_report_reads_the_funnel_view(funnel_db):
    with connect(funnel_db) as con:
        numbers = funnel_numbers(con)
    report = render(numbers, simulator=False)
    # 7 rule-passed = 2 kept + 3 rejected + 1 dead-lettered + 1 pending (d7); the table
    # starts from the 5 with an outcome and drops 2 at length, then 1 at alternation.
    for line in ("| dialogues passing the rule pre-filter | | 7 |",
                 "| LLM pre-filter (abusive language, cold agent) | 0 | 5 |",
                 "| (c) utterance count within bounds | 2 | 3 |",
                 "| (f) strict speaker alternation | 1 | 2 |",
                 "| (b) LLM judge says 'high' | 0 | 2 |",
                 "| **kept** | | **2** |",
                 "Dead-lettered (an LLM call failed for good; retried next run): 1. "
                 "Not yet processed: 1.",
                 "Input = kept + rejected + dead-lettered + pending: 7 = 2 + 3 + 1 + 1."):
        assert line in report.splitlines(), line


# -- docs/analysts.md ----------------------------------------------------------------------------


def doc_statements() -> list[str]:
    text = ANALYSTS_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"^```sql\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "no ```sql block in docs/analysts.md"
    return [s.query for block in blocks for s in duckdb.extract_statements(block)]


def test_every_example_query_in_analysts_md_runs(analyst):
    statements = doc_statements()
    assert len(statements) >= 10
    for sql in statements:
        try:
            analyst.execute(sql).fetchall()
        except duckdb.Error as exc:  # pragma: no cover - the message names the query
            pytest.fail(f"docs/analysts.md example failed: {exc}\n{sql}")
    assert any("strategy_name" in s for s in statements)


def test_schemas_table_in_analysts_md_is_one_table():
    text = ANALYSTS_MD.read_text(encoding="utf-8")
    section = text.split("## Schemas", 1)[1].split("\n## ", 1)[0].strip().splitlines()
    table = []
    for line in section:
        if not line.startswith("|"):
            break
        table.append(line)
    names = {m for line in table for m in re.findall(r"^\| `(\w+)`", line)}
    assert {"raw", "staging", "ops", "marts", "csconv"} <= names
