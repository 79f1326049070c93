"""The `csc` command and the Prefect flows, against a temporary Prefect server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import count, dialogue, journal_calls, query_all, write_jsonl

from cli.main import main
from csc.paths import SAMPLES
from tasks.runs import RunRefused
from warehouse.db import connect
from warehouse.snapshot import snapshot_path


@pytest.mark.parametrize(("argv", "message"), [
    (["ingest", "/no/such/path"], "does not exist"),
    (["ingest", ".", "--source", "nope"], "unknown source 'nope'"),
    (["ingest", ".", "--source", "/tmp/missing-config.yaml"], "does not exist"),
    (["run", "nightly", "--drop", "/no/such/folder"], "does not exist"),
])
def test_user_mistakes_get_one_line_and_exit_2(argv, message, capsys, warehouse):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("csc: error:") and message in err and "Traceback" not in err


def test_a_bad_length_bound_is_one_clear_line(capsys, warehouse, monkeypatch):
    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")
    monkeypatch.setenv("CSC_CSCONV_MAX_UTTERANCES", "lots")
    assert main(["run", "csconv"]) == 2
    err = capsys.readouterr().err
    assert err == "csc: error: CSC_CSCONV_MAX_UTTERANCES=lots must be a whole number >= 0\n"
    assert "Traceback" not in err


def test_status_without_a_warehouse(capsys, warehouse):
    assert main(["status"]) == 2
    assert "run `csc ingest` first" in capsys.readouterr().err


@pytest.mark.prefect
def test_cli_ingest_runs_the_flow_and_reconciles(tmp_path, capsys, warehouse, prefect_server):
    f = write_jsonl(tmp_path / "in.jsonl", [dialogue("a"), "{nope"])
    assert main(["ingest", str(f), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["reconciles"] and report["totals"]["new"] == 1
    assert report["totals"]["quarantined"] == 1
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE status = 'completed'") == 1
    # a file whose every record is bad: the run completes, but the exit code says so
    bad = write_jsonl(tmp_path / "bad.jsonl", ["{nope", "[]"])
    assert main(["ingest", str(bad)]) == 1
    assert "counts reconcile" in capsys.readouterr().out


def test_a_warehouse_path_that_cannot_be_written_is_one_clear_line(monkeypatch, capsys,
                                                                     tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CSC_WAREHOUSE", str(blocker / "sub" / "wh.duckdb"))
    assert main(["init"]) == 2  # asked to create it, and cannot
    err = capsys.readouterr().err
    assert "cannot create the warehouse folder" in err and "Traceback" not in err


def test_llm_stages_without_an_endpoint_stop_before_starting(warehouse, monkeypatch, capsys,
                                                             tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("CSC_LLM_BASE_URL", "CSC_LLM_API_KEY", "OPENAI_API_KEY", "CSC_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    for argv in (["nightly", "--drop", str(SAMPLES)], ["csconv"]):
        assert main(["run", *argv]) == 2  # a setting missing: the user's to fix, as a bad one
        err = capsys.readouterr().err
        assert "no LLM endpoint is configured" in err and "CSC_LLM_BASE_URL" in err
        assert "Traceback" not in err


@pytest.mark.prefect
def test_a_deployed_nightly_without_an_endpoint_fails_at_its_preflight(
        warehouse, prefect_server, monkeypatch, tmp_path):
    from prefect.exceptions import FailedRun

    from flows.nightly import nightly

    monkeypatch.chdir(tmp_path)
    for name in ("CSC_LLM_BASE_URL", "CSC_LLM_API_KEY", "OPENAI_API_KEY", "CSC_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    state = nightly(drop_folder=str(SAMPLES), return_state=True)
    assert state.is_failed() and "CSC_LLM_BASE_URL" in state.message
    with pytest.raises(FailedRun, match="CSC_LLM_BASE_URL"):
        nightly(drop_folder=str(SAMPLES))
    # refused before ingest wrote anything: a refused night leaves no half-refreshed data
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 0
    assert count(warehouse, "SELECT count(*) FROM ops.runs WHERE status = 'failed' "
                            "AND summary->>'error' LIKE '%CSC_LLM_BASE_URL%'") == 2


DATA_SCHEMAS = ("raw", "staging", "csconv", "rolecs", "eval", "finetune")


def table_counts(db: Path) -> dict[str, int]:
    """Rows of every base table of the data schemas, by qualified name."""
    names = [f"{s}.{t}" for s, t in query_all(
        db, "SELECT schema_name, table_name FROM duckdb_tables() "
            f"WHERE schema_name IN {DATA_SCHEMAS} ORDER BY ALL")]
    counts = query_all(db, " UNION ALL ".join(
        f"SELECT '{name}', count(*) FROM {name}" for name in names))
    return dict(counts)


def endpoint_calls(db: Path) -> int:
    """Calls in the warehouse's LLM journal that went to the endpoint (not the cache)."""
    return query_all(db, "SELECT count(*) FROM ops.llm_calls WHERE NOT cache_hit")[0][0]


@pytest.mark.prefect
def test_nightly_on_the_bundled_samples(warehouse, prefect_server, monkeypatch, tmp_path):
    from flows.nightly import nightly

    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")  # a background simulator process
    monkeypatch.setenv("CSC_LLM_CACHE", str(tmp_path / "llm.sqlite"))

    result = nightly(drop_folder=str(SAMPLES), finetune_force=True)  # as the demo runs it
    ingest = result["ingest"]
    assert ingest["reconciles"] and ingest["new"] >= 40
    assert ingest["quarantined"] >= 3
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == ingest["new"]
    rules = count(warehouse, "SELECT count(DISTINCT rule) FROM marts.prefilter_rule_counts")
    assert rules == 6  # the samples exercise every pre-filter rule
    langs = count(warehouse, "SELECT count(DISTINCT language) FROM raw.dialogues")
    assert langs == 2
    built = result["csconv"]
    assert built["reconciles"] and built["kept"] > 0 and built["dead"] == 0
    # the samples make every post-filter step drop something
    steps = {s for (s,) in query_all(warehouse, "SELECT DISTINCT step FROM csconv.rejects")}
    assert {"llm_prefilter", "length", "multi_strategy", "required_strategies", "alternation",
            "judge"} <= steps
    assert count(warehouse, "SELECT count(*) FROM csconv.rewrites WHERE trimmed > 0") >= 1
    # what `csc demo` runs: the same stage tables as before the stage kit (issue 12)
    from test_demo_snapshot import BASELINE, snap
    diff = snap.differences(snap.load(BASELINE), snap.snapshot(warehouse))
    assert not diff, "the stage tables differ from tests/data/demo_snapshot.json:\n" + \
        "\n".join(diff)
    made = result["rolecs"]  # tonight's batch: 5 new dialogues per language
    assert made["input"] == 10 == sum(made[k] for k in ("kept", "rejected", "dead", "deferred"))
    assert made["kept"] >= 1 and made["dead"] == 0
    # evaluation: the two offline baselines (trained on the accepted RoleCS dialogues) and the
    # simulator's candidate, in both settings, on every supporter turn of the CSConv set
    assert Path(result["evaluate"]["report"]).is_file()
    # fine-tuning: the forced export, trained by the local provider, evaluated next to its base
    tuned = result["finetune"]
    assert tuned["decision"] == "start" and tuned["job"]["status"] == "succeeded"
    model = tuned["job"]["fine_tuned_model"]
    assert model == f"retrieval-tfidf+local-ft-{tuned['export_id'][:8]}"
    assert query_all(warehouse, "SELECT setting, kind, count(*) FROM marts.leaderboard "
                                "GROUP BY ALL ORDER BY ALL") == [
        ("generated", "baseline", 3), ("generated", "simulator", 1),
        ("reference", "baseline", 3), ("reference", "simulator", 1)]
    assert query_all(warehouse, "SELECT setting, model, base_model, base_acc IS NOT NULL "
                                "FROM marts.finetune_deltas ORDER BY ALL") == [
        ("generated", model, "retrieval-tfidf", True),
        ("reference", model, "retrieval-tfidf", True)]
    turns = count(warehouse, "SELECT count(*) FROM csconv.utterances u JOIN "
                             "marts.csconv_current USING (csconv_id) WHERE speaker = 'supporter'")
    assert count(warehouse, "SELECT count(DISTINCT n_turns) FROM marts.leaderboard") == 1
    assert count(warehouse, "SELECT min(n_turns) FROM marts.leaderboard") == turns
    predictions = count(warehouse, "SELECT count(*) FROM eval.predictions")
    # issue 16: a second night with no new input asks the LLM nothing and adds no row to any
    # data schema (only ops, the run log, grows: it records that the run happened)
    first = table_counts(warehouse)
    asked, sent = journal_calls(), endpoint_calls(warehouse)
    assert asked > 0 and sent > 0  # the first night did ask: the counts below mean something
    assert {"raw.dialogues", "csconv.label_agreement", "finetune.decisions",
            "eval.metrics"} <= first.keys()
    again = nightly(drop_folder=str(SAMPLES), finetune_force=True)
    after = table_counts(warehouse)
    grown = {name: (n, after.get(name)) for name, n in first.items() if after.get(name) != n}
    assert not grown, f"rows added by a rerun with no new input (before, after): {grown}"
    assert after.keys() == first.keys()  # no table appeared either
    assert journal_calls() == asked, "the rerun asked the LLM (its cache journal grew)"
    assert endpoint_calls(warehouse) == sent, "the rerun sent LLM requests"
    assert again["ingest"]["new"] == 0 and again["ingest"]["reconciles"]
    # the same accepted set: no second export, and the job that trained it is not redone
    assert again["finetune"]["decision"] == "already_exported"
    assert again["finetune"]["job"]["job_key"] == tuned["job"]["job_key"]
    assert count(warehouse, "SELECT count(*) FROM finetune.jobs") == 1
    assert again["csconv"]["input"] == 0
    assert again["rolecs"]["input"] == 0  # the same night's batch is done
    # nothing new to predict or measure
    assert again["evaluate"]["metrics"]["computed"] == []
    assert count(warehouse, "SELECT count(*) FROM eval.predictions") == predictions
    # two nightly runs, each with its ingest, csconv, rolecs, finetune and evaluate sub-runs
    assert count(warehouse, "SELECT count(*) FROM ops.runs") == 12
    # each night passed the gate and published the analysts' snapshot
    snapshot = Path(again["publish"]["snapshot"])
    assert snapshot == snapshot_path(warehouse) and snapshot.is_file()
    assert again["quality"]["passed"] and Path(again["publish"]["data_docs"]).is_file()
    published = snapshot.read_bytes()

    # a planted bad row fails the gate with a message naming it, and is not published
    with connect(warehouse) as con:
        con.execute("UPDATE csconv.utterances SET strategy_id = 13 WHERE (csconv_id, utt_index) "
                    "= (SELECT (u.csconv_id, u.utt_index) FROM csconv.utterances u JOIN "
                    "marts.csconv_current USING (csconv_id) WHERE u.speaker = 'supporter' "
                    "ORDER BY ALL LIMIT 1)")
    with pytest.raises(RunRefused) as refused:
        nightly(drop_folder=str(SAMPLES))
    said = str(refused.value)
    assert said.startswith("quality gate failed, nothing published: ") and "strategy_id" in said
    assert "failed for 1 row" in said
    assert said.endswith("(quality failed); skipped as a result: finetune, evaluate, publish")
    assert snapshot.read_bytes() == published
    (summary,) = query_all(warehouse, "SELECT summary FROM ops.runs WHERE flow = 'nightly' "
                                      "AND status = 'failed'")[0]
    stages = json.loads(summary)
    assert [stages[s]["status"] for s in ("ingest", "csconv", "rolecs", "quality", "publish")] \
        == ["completed", "completed", "completed", "failed", "skipped"]
