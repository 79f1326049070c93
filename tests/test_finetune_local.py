"""The local provider and the train -> evaluate loop over a real DuckDB file: an export's
training file read back turn for turn, the learnt classifier, one job per export however
often the trigger runs, and the fine-tuned model on the leaderboard next to its base."""

from __future__ import annotations

import json

import pytest
from helpers import CSCONV_EN, CSCONV_ZH, csconv_dialogue, rolecs_accepted

from csc.eval import baseline_run, service
from csc.eval.registry import ModelEntry, default_registry
from csc.finetune import launch
from csc.finetune.export import Dialogue, Turn
from csc.finetune.jobs import NotTrainable
from csc.finetune.providers import local
from csc.finetune.providers.local import LocalProvider, read_dialogues
from csc.finetune.registered import finetuned_entries
from csc.finetune.service import run_trigger
from warehouse import finetune_store
from warehouse.db import connect, query

RETRIEVAL = ModelEntry("retrieval-tfidf", baseline="retrieval")


def _dialogues(n: int) -> list[Dialogue]:
    return [Dialogue(f"{i:016x}", "en" if i % 2 else "zh",
                     (Turn("supporter", 1, f"hello {i}"), Turn("customer", None, f"question {i}"),
                      Turn("supporter", 7, f"answer {i}"), Turn("customer", None, "thanks"),
                      Turn("supporter", 11, "bye")))
            for i in range(n)]


@pytest.fixture


def exported(warehouse):
    """A warehouse with 12 accepted RoleCS dialogues and their export (forced)."""
    with connect(warehouse) as con:
        rolecs_accepted(con, _dialogues(12))
    outcome = run_trigger(force=True, db=warehouse)
    assert outcome.decision.decision == "start"
    return warehouse, outcome


def test_the_training_file_reads_back_turn_for_turn(exported):
    _, outcome = exported
    path = outcome.path / "openai.train.jsonl"
    back = read_dialogues(path, "x")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(back) == len(lines) == outcome.export.row(str(outcome.path))["n_train"]
    assert [d.dialogue_id for d in back[:2]] == ["x:0000001", "x:0000002"]
    for d in back:  # the fixed opening user message is not a customer turn
        i = int(d.turns[0].text.split()[1])
        assert d.language == ("en" if i % 2 else "zh")
        assert [(t.speaker, t.strategy_id, t.text) for t in d.turns] == [
            ("supporter", 1, f"hello {i}"), ("customer", None, f"question {i}"),
            ("supporter", 7, f"answer {i}"), ("customer", None, "thanks"),
            ("supporter", 11, "bye")]
        assert [t.utt_index for t in d.turns] == [0, 1, 2, 3, 4]


def test_a_local_job_trains_once_and_joins_the_registry_named_for_its_base(exported,
                                                                         monkeypatch):
    db, outcome = exported
    export_id = outcome.decision.export_id
    job = launch.train(LocalProvider(), "retrieval-tfidf", db=db)
    assert job.status == "succeeded" and job.error is None
    assert job.fine_tuned_model == f"retrieval-tfidf+local-ft-{export_id[:8]}"
    assert [h["status"] for h in job.history] == ["created", "uploaded", "submitted",
                                                  "succeeded"]
    manifest = json.loads((outcome.path / "local" / f"{job.job_key}.json").read_text())
    assert manifest["dialogues"] == outcome.export.row("")["n_train"]
    assert manifest["supporter_turns"] == 3 * manifest["dialogues"]

    def refuse(*args, **kwargs):
        raise AssertionError("a second job was started")

    monkeypatch.setattr(LocalProvider, "start", refuse)
    monkeypatch.setattr(LocalProvider, "upload", refuse)
    assert run_trigger(force=True, db=db).decision.decision == "already_exported"
    again = launch.train(LocalProvider(), "retrieval-tfidf", db=db)
    assert again.job_key == job.job_key and again.status == "succeeded"
    with connect(db) as con:
        assert query(con, "SELECT count(*) FROM finetune.jobs")[0][0] == 1
        trained = finetune_store.trained_models(con)
    entries = finetuned_entries(default_registry(None), trained)
    assert entries == [ModelEntry(job.fine_tuned_model, baseline="classifier",
                                  trained_on=str(outcome.path), base="retrieval-tfidf")]
    # already registered (a registry file naming it): not added twice
    assert finetuned_entries([*default_registry(None), *entries], trained) == []


def test_an_export_without_the_openai_file_is_not_trainable(exported):
    _, outcome = exported
    (outcome.path / "openai.train.jsonl").unlink()
    with pytest.raises(NotTrainable, match=r"has no openai\.train\.jsonl"):
        launch.train(LocalProvider(), "retrieval-tfidf", db=exported[0])


def test_the_fine_tuned_model_is_evaluated_beside_its_base(exported, monkeypatch):
    db, _ = exported
    with connect(db) as con:
        csconv_dialogue(con, "c1", "zh", CSCONV_ZH)
        csconv_dialogue(con, "c2", "en", CSCONV_EN)
    job = launch.train(LocalProvider(), "retrieval-tfidf", db=db)
    with connect(db) as con:
        tuned = finetuned_entries([RETRIEVAL], finetune_store.trained_models(con))[0]
    for entry in (RETRIEVAL, tuned):
        done = baseline_run.run_baseline(entry, "reference", db=db)
        assert done["predicted"] == 2 and "skipped" not in done
    service.refresh_metrics(db=db, resamples=20)
    with connect(db) as con:
        rows = query(con, "SELECT model, base_model, acc, base_acc, acc_delta "
                          "FROM marts.finetune_deltas")
        board = query(con, "SELECT model, base_model FROM marts.leaderboard ORDER BY model")
    assert board == [("retrieval-tfidf", None), (job.fine_tuned_model, "retrieval-tfidf")]
    [(model, base, acc, base_acc, acc_delta)] = rows
    assert (model, base) == (job.fine_tuned_model, "retrieval-tfidf")
    assert acc_delta == pytest.approx(acc - base_acc)
    path, markdown = service.write_eval_report(db)
    html = path.read_text(encoding="utf-8")
    assert "Fine-tuned against its base" in html
    assert f"{job.fine_tuned_model} (fine-tuned from retrieval-tfidf)" in markdown


def test_a_moved_export_is_a_recorded_skip_not_a_crash(exported, tmp_path):
    db, outcome = exported
    launch.train(LocalProvider(), "retrieval-tfidf", db=db)
    with connect(db) as con:
        tuned = finetuned_entries([RETRIEVAL], finetune_store.trained_models(con))[0]
    (outcome.path / local.TRAIN_FILE).rename(tmp_path / "moved.jsonl")
    done = baseline_run.run_baseline(tuned, "reference", db=db)
    assert done["predicted"] == 0 and "cannot read what" in done["skipped"]


@pytest.mark.prefect


def test_the_finetune_flow_trains_and_evaluates_once(exported, prefect_server, monkeypatch):
    from flows.finetune import finetune

    db, _ = exported
    monkeypatch.delenv("CSC_LLM_BASE_URL", raising=False)  # offline: no endpoint at all
    with connect(db) as con:
        csconv_dialogue(con, "c1", "zh", CSCONV_ZH)
        csconv_dialogue(con, "c2", "en", CSCONV_EN)
    first = finetune(force=True)
    assert first["export"]["decision"] == "already_exported"  # the fixture exported it
    assert first["job"]["status"] == "succeeded" and first["evaluate"]["runs"] == 4
    with connect(db) as con:
        board = query(con, "SELECT setting, model, base_model FROM marts.leaderboard "
                           "ORDER BY ALL")
        predictions = query(con, "SELECT count(*) FROM eval.predictions")[0][0]
    tuned = first["job"]["fine_tuned_model"]
    assert board == [("generated", "retrieval-tfidf", None), ("generated", tuned,
                                                              "retrieval-tfidf"),
                     ("reference", "retrieval-tfidf", None), ("reference", tuned,
                                                              "retrieval-tfidf")]
    again = finetune(force=True)
    assert again["job"]["job_key"] == first["job"]["job_key"]
    with connect(db) as con:
        assert query(con, "SELECT count(*) FROM eval.predictions")[0][0] == predictions
        assert query(con, "SELECT count(*) FROM finetune.jobs")[0][0] == 1
