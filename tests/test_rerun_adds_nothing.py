"""A second nightly run with no new input (issue 16) asks the LLM nothing and adds no row to
any data schema. Only `ops`, the run log, may grow: it records that the run happened.

One test, because a nightly run on the samples takes minutes on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import journal_calls, query_all

from csc.paths import SAMPLES

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
def test_a_second_nightly_run_adds_nothing(warehouse, prefect_server, monkeypatch, tmp_path):
    from flows.nightly import nightly

    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")
    monkeypatch.setenv("CSC_LLM_CACHE", str(tmp_path / "llm.sqlite"))

    nightly(drop_folder=str(SAMPLES), finetune_force=True)  # as `csc demo` runs it
    first = table_counts(warehouse)
    asked, sent = journal_calls(), endpoint_calls(warehouse)
    assert asked > 0 and sent > 0  # the first night did ask: the counts below mean something
    assert {"raw.dialogues", "csconv.label_agreement", "finetune.decisions",
            "eval.metrics"} <= first.keys()

    second = nightly(drop_folder=str(SAMPLES), finetune_force=True)
    after = table_counts(warehouse)
    grown = {name: (n, after.get(name)) for name, n in first.items() if after.get(name) != n}
    assert not grown, f"rows added by a rerun with no new input (before, after): {grown}"
    assert after.keys() == first.keys()  # no table appeared either
    assert journal_calls() == asked, "the rerun asked the LLM (its cache journal grew)"
    assert endpoint_calls(warehouse) == sent, "the rerun sent LLM requests"
    assert second["ingest"]["new"] == 0 and second["rolecs"]["input"] == 0
    assert second["finetune"]["decision"] == "already_exported"
