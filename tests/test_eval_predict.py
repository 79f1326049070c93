"""Evaluation predictions: the model registry, the two settings, the offline baselines, and
the prediction stage on the kit against the simulator over real HTTP into a real DuckDB file
(a rerun asks nothing, a new dialogue is the only new work, an unreadable answer is a counted
failure)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from helpers import journal_calls

from csc.eval.baselines import NoTrainingData, Retrieval, StrategyPrior
from csc.eval.context import EvalDialogue, EvalTurn, Prediction, predict_dialogue
from csc.eval.registry import RegistryError, default_registry, load_registry
from csc.llm.journal import Journal
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import Role
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, insert_rows, query, transaction

# ---- registry ---------------------------------------------------------------------------


def _settings(model: str = "qwen-7b") -> LLMSettings:
    roles = {Role.CANDIDATE: RoleSettings(model=model, temperature=0.0, max_tokens=None,
                                          timeout=30.0)}
    return LLMSettings(base_url="http://llm.example/v1", api_key="k", roles=roles)


def test_the_default_registry_is_the_baselines_and_the_endpoints_model():
    assert [e.name for e in default_registry(None)] == ["strategy-prior", "retrieval-tfidf"]
    entries = default_registry(_settings())
    assert [e.name for e in entries] == ["strategy-prior", "retrieval-tfidf", "qwen-7b"]
    assert entries[2].kind(_settings()) == "model"
    assert default_registry(_settings("sim-default"))[2].kind() == "simulator"


def test_a_registry_file_is_read(tmp_path: Path, monkeypatch):
    f = tmp_path / "models.yaml"
    f.write_text("models:\n  - name: base\n    model: Qwen2.5-7B\n    temperature: 0.7\n"
                 "    max_tokens: 64\n    api_key_env: BOX_KEY\n    base_url: http://box/v1\n"
                 "  - name: prior\n    baseline: strategy_prior\n")
    base, prior = load_registry(f)
    assert (base.model, base.temperature, base.max_tokens) == ("Qwen2.5-7B", 0.7, 64)
    assert prior.is_baseline and prior.kind() == "baseline"
    with pytest.raises(RegistryError, match="BOX_KEY"):  # the key's variable is not set
        base.settings_for(_settings())
    monkeypatch.setenv("BOX_KEY", "secret-1")
    s = base.settings_for(_settings())
    assert (s.base_url, s.api_key, s.role(Role.CANDIDATE).model) == (
        "http://box/v1", "secret-1", "Qwen2.5-7B")
    assert "secret" not in str(base.params())


@pytest.mark.parametrize(("body", "message"), [
    ("models: []\n", "at least one entry"),
    ("nothing: 1\n", "'models:' list"),
    ("models:\n  - name: a\n", "exactly one of 'model'"),
    ("models:\n  - name: a\n    model: m\n    baseline: retrieval\n", "exactly one of"),
    ("models:\n  - name: a\n    baseline: knn\n", "unknown baseline 'knn'"),
    ("models:\n  - name: 'a b'\n    model: m\n", "'name' must be"),
    ("models:\n  - name: a\n    model: m\n    colour: red\n", "unknown key\\(s\\) colour"),
    ("models:\n  - name: a\n    model: m\n    temperature: 3\n", "temperature"),
    ("models:\n  - name: a\n    model: m\n    max_tokens: 0\n", "max_tokens"),
    ("models:\n  - name: a\n    model: m\n  - name: a\n    model: n\n", "repeated: a"),
    ("models: [\n", "cannot be read as YAML"),
])
def test_a_bad_registry_says_which_entry_and_why(tmp_path: Path, body: str, message: str):
    f = tmp_path / "models.yaml"
    f.write_text(body)
    with pytest.raises(RegistryError, match=message):
        load_registry(f)


def test_a_missing_registry_file_is_named(tmp_path: Path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nope.yaml")


# ---- the two settings ---------------------------------------------------------------------

def _dialogue() -> EvalDialogue:
    return EvalDialogue("d1", "en", (
        EvalTurn(0, "supporter", 1, "hello"),
        EvalTurn(1, "customer", None, "my card is blocked"),
        EvalTurn(2, "supporter", 4, "which card?"),
        EvalTurn(3, "customer", None, "the visa"),
        EvalTurn(4, "supporter", 7, "unblocked now"),
    ))


def _recording(answers: dict[int, Prediction]):
    seen: dict[int, list[tuple]] = {}

    async def predict(d, history, utt_index):
        seen[utt_index] = [(t.utt_index, t.speaker, t.strategy_id, t.text) for t in history]
        return answers[utt_index]
    return predict, seen


def test_reference_context_sees_the_gold_history():
    own = {0: Prediction(0, 2, "own0"), 2: Prediction(2, 5, "own2"), 4: Prediction(4, 6, "o4")}
    predict, seen = _recording(own)
    out = asyncio.run(predict_dialogue(_dialogue(), "reference", predict))
    assert [p.utt_index for p in out] == [0, 2, 4]
    assert seen[0] == []
    assert seen[4] == [(0, "supporter", 1, "hello"), (1, "customer", None, "my card is blocked"),
                       (2, "supporter", 4, "which card?"), (3, "customer", None, "the visa")]


def test_generated_context_sees_its_own_turns_and_gold_customers():
    own = {0: Prediction(0, 2, "own0"), 2: Prediction.failed(2, "unreadable"),
           4: Prediction(4, 6, "o4")}
    predict, seen = _recording(own)
    asyncio.run(predict_dialogue(_dialogue(), "generated", predict))
    assert seen[2] == [(0, "supporter", 2, "own0"), (1, "customer", None, "my card is blocked")]
    # a failed turn is an empty reply with no strategy, never the gold turn
    assert seen[4] == [(0, "supporter", 2, "own0"), (1, "customer", None, "my card is blocked"),
                       (2, "supporter", None, ""), (3, "customer", None, "the visa")]


def test_an_unknown_setting_is_refused_and_no_supporter_turn_is_no_prediction():
    predict, _ = _recording({})
    with pytest.raises(ValueError, match="unknown setting"):
        asyncio.run(predict_dialogue(_dialogue(), "oracle", predict))
    only_customer = EvalDialogue("d2", "en", (EvalTurn(0, "customer", None, "hi"),))
    assert asyncio.run(predict_dialogue(only_customer, "generated", predict)) == []


# ---- baselines ----------------------------------------------------------------------------

def _train(did: str, lang: str, strategies: list[int], texts: list[str] | None = None,
           customer: str = "hi") -> EvalDialogue:
    turns, i = [], 0
    for n, sid in enumerate(strategies):
        turns.append(EvalTurn(i, "customer", None, f"{customer} {n}"))
        turns.append(EvalTurn(i + 1, "supporter", sid, texts[n] if texts else f"s{sid}"))
        i += 2
    return EvalDialogue(did, lang, tuple(turns))


def test_the_strategy_prior_follows_the_most_frequent_transition():
    # after 1: 4 twice, 6 once -> 4; after nothing: 1 three times; after 7 (never seen): back
    # off to the language's most frequent strategy overall (1: 3, 4: 2, 6: 1 -> 1)
    prior = StrategyPrior([_train("a", "en", [1, 4]), _train("b", "en", [1, 4]),
                           _train("c", "en", [1, 6])])
    d = _dialogue()
    assert prior.predict(d, [], 0).strategy_id == 1
    assert prior.predict(d, [EvalTurn(0, "supporter", 1, "x")], 2).strategy_id == 4
    assert prior.predict(d, [EvalTurn(0, "supporter", 7, "x")], 2).strategy_id == 1
    assert prior.predict(d, [], 0).text == "s1"  # the most frequent reply of strategy 1
    with pytest.raises(NoTrainingData, match="'zh'"):
        prior.predict(EvalDialogue("z", "zh", ()), [], 0)


def test_ties_go_to_the_smallest_strategy_whatever_the_order():
    a = StrategyPrior([_train("a", "en", [5]), _train("b", "en", [3])])
    b = StrategyPrior([_train("b", "en", [3]), _train("a", "en", [5])])
    assert a.predict(_dialogue(), [], 0).strategy_id == 3 == b.predict(_dialogue(), [], 0) \
        .strategy_id


def test_retrieval_answers_with_the_nearest_training_turn():
    training = [
        _train("a", "en", [7], ["your card is unblocked"], customer="my card is blocked"),
        _train("b", "en", [9], ["the fee is refunded"], customer="refund the annual fee"),
    ]
    r = Retrieval(training)
    history = [EvalTurn(0, "customer", None, "please refund my annual fee")]
    p = r.predict(_dialogue(), history, 1)
    assert (p.strategy_id, p.text) == (9, "the fee is refunded")
    history = [EvalTurn(0, "customer", None, "card blocked again")]
    assert r.predict(_dialogue(), history, 1).strategy_id == 7


# ---- the stage against the simulator ------------------------------------------------------

def _csconv(con, cid: str, lang: str, turns: list[tuple[str, int | None, str]]) -> None:
    with transaction(con):
        insert_rows(con, "csconv.dialogues", [{
            "csconv_id": cid, "dialogue_id": f"raw-{cid}", "pipeline_version": "v1",
            "language": lang, "business_area": None, "n_utterances": len(turns),
            "n_supporter": sum(s == "supporter" for s, _, _ in turns), "strategy_use": 1.0,
            "rewriter_model": "m", "rewrite_prompt": "p", "judge_model": "m", "run_id": "r"}])
        insert_rows(con, "csconv.utterances", [
            {"csconv_id": cid, "utt_index": i, "speaker": s, "strategy_id": sid,
             "strategy_label": None, "stage": None, "text": t}
            for i, (s, sid, t) in enumerate(turns)], stamp=None)


ZH = [("supporter", 1, "您好，请问有什么可以帮您？"), ("customer", None, "我的信用卡被锁了"),
      ("supporter", 2, "请提供您的身份证后四位"), ("customer", None, "1234"),
      ("supporter", 7, "已经为您解锁"), ("customer", None, "谢谢"),
      ("supporter", 11, "感谢来电，再见")]
EN = [("supporter", 1, "Hello, how can I help?"), ("customer", None, "My card is blocked"),
      ("supporter", 4, "Which card is it?"), ("customer", None, "The visa"),
      ("supporter", 11, "It is unblocked, goodbye")]


def test_the_stage_predicts_what_is_missing_and_a_rerun_asks_nothing(warehouse, llm_env):
    from csc.eval.predict import PredictionStage
    from csc.kit import runner

    with connect(warehouse) as con:
        _csconv(con, "c1", "zh", ZH)
        _csconv(con, "c2", "en", EN)
    with run_in_thread(SimConfig(seed=3)) as sim:
        llm_env(sim)
        model = os.environ["CSC_LLM_MODEL"]
        counts = {}
        for setting in ("reference", "generated"):
            stage = PredictionStage.ref(model=model, setting=setting).build()
            counts[setting] = runner.run_all(stage, "r1")
            assert counts[setting].kept == 2 and counts[setting].reconciles
        calls = journal_calls()
        with connect(warehouse) as con:
            rows = query(con, "SELECT count(*) FROM eval.predictions")[0][0]
        assert rows == 2 * (4 + 3)  # both settings, every supporter turn
        again = runner.run_all(PredictionStage.ref(model=model, setting="reference").build(),
                               "r2")
        assert again.input == 0 and journal_calls() == calls  # unchanged: no LLM call at all
        with connect(warehouse) as con:
            assert query(con, "SELECT count(*) FROM eval.predictions")[0][0] == rows
            _csconv(con, "c3", "en", EN[:3])
        more = runner.run_all(PredictionStage.ref(model=model, setting="reference").build(),
                              "r3")
        assert more.input == 1 and more.kept == 1  # only the new dialogue
    with connect(warehouse) as con:
        assert query(con, "SELECT count(*) FROM eval.predictions")[0][0] == rows + 2
        runs = query(con, "SELECT model, kind, setting FROM eval.runs ORDER BY setting")
        assert runs == [(model, "simulator", "generated"), (model, "simulator", "reference")]
        gold = query(con, "SELECT utt_index, gold_strategy, gold_text FROM eval.predictions "
                          "WHERE csconv_id = 'c1' ORDER BY run_key, utt_index LIMIT 4")
        assert gold == [(0, 1, ZH[0][2]), (2, 2, ZH[2][2]), (4, 7, ZH[4][2]), (6, 11, ZH[6][2])]


def test_an_unreadable_answer_is_a_counted_failure_not_a_skipped_turn(warehouse, llm_env,
                                                                     monkeypatch):
    from csc.eval.predict import PredictionStage
    from csc.kit import runner

    monkeypatch.setenv("CSC_LLM_MAX_REASKS", "1")
    with connect(warehouse) as con:
        _csconv(con, "c2", "en", EN)
    with run_in_thread(SimConfig(seed=4, rate_malformed=1.0)) as sim:
        llm_env(sim)
        stage = PredictionStage.ref(model=os.environ["CSC_LLM_MODEL"],
                                    setting="reference").build()
        counts = runner.run_all(stage, "r1")
    assert counts.kept == 1 and counts.dead == 0
    with connect(warehouse) as con:
        rows = query(con, "SELECT utt_index, parse_status, pred_strategy, pred_text, "
                          "error IS NOT NULL FROM eval.predictions ORDER BY utt_index")
    assert rows == [(0, "failed", None, None, True), (2, "failed", None, None, True),
                    (4, "failed", None, None, True)]


@pytest.mark.prefect
def test_kill_9_mid_evaluation_then_rerun_matches_an_uninterrupted_run(
        tmp_path, warehouse, llm_env, prefect_server, monkeypatch):
    from kill9 import killed_after_calls

    from flows.evaluate import evaluate

    def seed(db: Path) -> None:
        with connect(db) as con:
            _csconv(con, "c1", "zh", ZH)
            _csconv(con, "c2", "en", EN)
            _csconv(con, "c3", "zh", ZH[:5])

    seed(warehouse)
    seed(tmp_path / "clean.duckdb")
    with run_in_thread(SimConfig(seed=9, latency_ms=20)) as sim:
        llm_env(sim)
        model = os.environ["CSC_LLM_MODEL"]
        run = f"""
            from flows.evaluate import evaluate
            evaluate(models=[{model!r}], batch_size=1)
            """
        with killed_after_calls(run, 6, tmp_path / "child.log"), \
                monkeypatch.context() as clean:  # meanwhile, the uninterrupted run
            clean.setenv("CSC_WAREHOUSE", str(tmp_path / "clean.duckdb"))
            clean.setenv("CSC_LLM_CACHE", str(tmp_path / "clean-cache.sqlite"))
            evaluate(models=[model], batch_size=1)
        evaluate(models=[model], batch_size=1)  # the rerun
        journal = Journal(Path(os.environ["CSC_LLM_CACHE"]))
        repeated = journal.count(
            "(SELECT prompt_hash FROM calls WHERE status = 'ok' GROUP BY 1 HAVING count(*) > 1)")
        journal.close()
        assert repeated == 0  # no completed call was made twice

    def rows(db: Path) -> list[tuple]:
        with connect(db) as con:
            return query(con, "SELECT r.model, r.setting, p.csconv_id, p.utt_index, "
                              "p.pred_strategy, p.pred_text, p.parse_status FROM "
                              "eval.predictions p JOIN eval.runs r USING (run_key) ORDER BY ALL")
    killed, clean = rows(warehouse), rows(tmp_path / "clean.duckdb")
    assert len(clean) == 2 * (4 + 3 + 3)  # both settings, every supporter turn
    assert killed == clean
