"""Evaluation's pure parts, without HTTP or a warehouse: the model registry, the two settings
(what each predictor sees at a turn) and the offline baselines. Fast, so `make mutate` runs
them on csc/eval/registry.py, csc/eval/context.py and csc/eval/baselines.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from csc.eval.baselines import NoTrainingData, Retrieval, StrategyPrior
from csc.eval.context import EvalDialogue, EvalTurn, Prediction, predict_dialogue
from csc.eval.registry import RegistryError, default_registry, load_registry
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import Role

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
