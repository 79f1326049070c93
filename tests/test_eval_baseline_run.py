"""An offline baseline over a real DuckDB file: only pending dialogues are predicted, a night
with nothing new trains nothing, new training data is a new run, and no training data is a
recorded skip (the training set is given directly: RoleCS itself is tested elsewhere)."""

from __future__ import annotations

import pytest
from helpers import CSCONV_EN, CSCONV_ZH, csconv_dialogue

from csc.eval import baseline_run
from csc.eval.registry import ModelEntry
from warehouse import eval_store
from warehouse.db import connect, query

PRIOR = ModelEntry("strategy-prior", baseline="strategy_prior")


def _training(n: int) -> list[tuple]:
    """Turn rows of n accepted training dialogues per language (as training_turns returns)."""
    rows = []
    for lang in ("zh", "en"):
        for d in range(n):
            for i, (speaker, sid) in enumerate([("supporter", 1), ("customer", None),
                                                ("supporter", 4)]):
                rows.append((f"t-{lang}-{d}", lang, i, speaker, sid, f"{lang} text {i}"))
    return rows


def test_only_pending_dialogues_are_predicted_and_a_quiet_night_trains_nothing(
        warehouse, monkeypatch):
    training = _training(2)
    monkeypatch.setattr(eval_store, "training_turns", lambda con: training)
    with connect(warehouse) as con:
        csconv_dialogue(con, "c1", "zh", CSCONV_ZH)
        csconv_dialogue(con, "c2", "en", CSCONV_EN)
    told = []
    first = baseline_run.run_baseline(PRIOR, "generated", db=warehouse, hooks=[told.append])
    assert (first["predicted"], first["turns"]) == (2, 4 + 3)
    # progress: told at the start and at the end, in dialogues of what was pending
    assert [(s.done, s.total, s.unit, s.final) for s in (told[0], told[-1])] == [
        (0, 2, "dialogues", False), (2, 2, "dialogues", True)]
    assert told[0].label == "strategy-prior (generated)"

    def no_training(*args):
        raise AssertionError("a baseline was trained with nothing to predict")
    monkeypatch.setattr(baseline_run, "build", no_training)
    again = baseline_run.run_baseline(PRIOR, "generated", db=warehouse)
    assert (again["input"], again["run_key"]) == (0, first["run_key"])
    monkeypatch.undo()

    monkeypatch.setattr(eval_store, "training_turns", lambda con: training)
    with connect(warehouse) as con:
        csconv_dialogue(con, "c3", "en", CSCONV_EN[:3])
    more = baseline_run.run_baseline(PRIOR, "generated", db=warehouse)
    assert (more["predicted"], more["turns"], more["run_key"]) == (1, 2, first["run_key"])

    # new training data: a new run, over every dialogue
    monkeypatch.setattr(eval_store, "training_turns", lambda con: _training(3))
    retrained = baseline_run.run_baseline(PRIOR, "generated", db=warehouse)
    assert retrained["run_key"] != first["run_key"] and retrained["predicted"] == 3
    with connect(warehouse) as con:
        per_run = query(con, "SELECT r.run_key, r.model, r.kind, count(*) FROM "
                             "eval.predictions p JOIN eval.runs r USING (run_key) "
                             "GROUP BY ALL ORDER BY ALL")
    assert sorted((k, m, kind, n) for k, m, kind, n in per_run) == sorted([
        (first["run_key"], "strategy-prior", "baseline", 4 + 3 + 2),
        (retrained["run_key"], "strategy-prior", "baseline", 4 + 3 + 2)])


@pytest.mark.parametrize("training", [[], "zh only"])
def test_missing_training_data_is_a_recorded_skip(warehouse, monkeypatch, training):
    rows = [] if training == [] else [r for r in _training(1) if r[1] == "zh"]
    monkeypatch.setattr(eval_store, "training_turns", lambda con: rows)
    with connect(warehouse) as con:
        csconv_dialogue(con, "c2", "en", CSCONV_EN)
    out = baseline_run.run_baseline(PRIOR, "reference", db=warehouse)
    assert out["predicted"] == 0
    assert "RoleCS" in out["skipped"]
    with connect(warehouse) as con:
        assert query(con, "SELECT count(*) FROM eval.predictions") == [(0,)]
