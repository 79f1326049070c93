"""Evaluation's pure parts, without HTTP or a warehouse: the model registry, the two settings
(what each predictor sees at a turn) and the offline baselines. Fast, so `make mutate` runs
them on csc/eval/registry.py, csc/eval/context.py and csc/eval/baselines.py."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest

from csc.eval.baselines import (
    NoTrainingData,
    Retrieval,
    StrategyPrior,
    _context,
    build,
    training_fingerprint,
)
from csc.eval.context import Abandoned, EvalDialogue, EvalTurn, Prediction, predict_dialogue
from csc.eval.registry import ModelEntry, RegistryError, default_registry, load_registry
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import Role

# ---- registry ---------------------------------------------------------------------------


def _settings(model: str = "qwen-7b") -> LLMSettings:
    roles = {Role.CANDIDATE: RoleSettings(model=model, temperature=0.0, max_tokens=None,
                                          timeout=30.0)}
    return LLMSettings(base_url="http://llm.example/v1", api_key="k", roles=roles)


def test_the_default_registry_is_the_baselines_and_the_endpoints_model():
    assert [(e.name, e.baseline) for e in default_registry(None)] == [
        ("strategy-prior", "strategy_prior"), ("retrieval-tfidf", "retrieval")]
    assert [e.name for e in load_registry(None, _settings())][-1] == "qwen-7b"
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
    ("- name: a\n  model: m\n", "'models:' list"),
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
        assert isinstance(d, EvalDialogue)  # the dialogue itself goes along (its language)
        seen[utt_index] = [(t.utt_index, t.speaker, t.strategy_id, t.text) for t in history]
        return answers[utt_index]
    return predict, seen


def test_an_abandoned_dialogue_says_how_and_why():
    gone = Abandoned("deferred", "budget reached")
    assert (gone.kind, str(gone)) == ("deferred", "budget reached")


def test_a_failed_prediction_has_no_strategy_or_text_and_says_why():
    assert Prediction.failed(4, "unreadable") == Prediction(4, None, None, "failed",
                                                            "unreadable")


def test_reference_context_sees_the_gold_history():
    own = {0: Prediction(0, 2, "own0"), 2: Prediction(2, 5, "own2"), 4: Prediction(4, 6, "o4")}
    predict, seen = _recording(own)
    out = asyncio.run(predict_dialogue(_dialogue(), "reference", predict))
    assert out == [own[0], own[2], own[4]]
    assert seen[0] == []
    assert seen[4] == [(0, "supporter", 1, "hello"), (1, "customer", None, "my card is blocked"),
                       (2, "supporter", 4, "which card?"), (3, "customer", None, "the visa")]


def test_generated_context_sees_its_own_turns_and_gold_customers():
    own = {0: Prediction(0, 2, "own0"), 2: Prediction.failed(2, "unreadable"),
           4: Prediction(4, 6, "o4")}
    predict, seen = _recording(own)
    out = asyncio.run(predict_dialogue(_dialogue(), "generated", predict))
    assert out == [own[0], own[2], own[4]]
    assert seen[2] == [(0, "supporter", 2, "own0"), (1, "customer", None, "my card is blocked")]
    # a failed turn is an empty reply with no strategy, never the gold turn
    assert seen[4] == [(0, "supporter", 2, "own0"), (1, "customer", None, "my card is blocked"),
                       (2, "supporter", None, ""), (3, "customer", None, "the visa")]


def test_a_dialogue_that_opens_with_the_customer_keeps_that_turn_in_every_history():
    d = EvalDialogue("d3", "zh", (EvalTurn(0, "customer", None, "在吗"),
                                  EvalTurn(1, "supporter", 1, "您好"),
                                  EvalTurn(2, "customer", None, "卡被锁了"),
                                  EvalTurn(3, "supporter", 7, "已解锁")))
    own = {1: Prediction(1, 1, "你好"), 3: Prediction(3, 5, "请稍等")}
    for setting in ("reference", "generated"):
        predict, seen = _recording(own)
        assert asyncio.run(predict_dialogue(d, setting, predict)) == [own[1], own[3]]
        assert seen[1] == [(0, "customer", None, "在吗")]
        assert seen[3][0] == (0, "customer", None, "在吗") and len(seen[3]) == 3


def test_an_unknown_setting_is_refused_and_no_supporter_turn_is_no_prediction():
    predict, _ = _recording({})
    with pytest.raises(ValueError, match="unknown setting 'oracle': use one of reference, "
                                         "generated"):
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


def test_the_prior_weighs_counts_and_knows_the_opening():
    # openings: 1 three times; overall 4 is the most frequent (7 of 13); after 1: 6 twice, 4
    # once; after 4: 4 four times, 9 once
    training = [_train("a", "en", [1, 6, 4, 4, 4], ["hi", "x", "b", "b", "a"]),
                _train("b", "en", [1, 6, 4, 4, 9], ["hi", "y", "b", "a", "z"]),
                _train("c", "en", [1, 4, 4], ["hey", "b", "b"])]
    prior = StrategyPrior(training)
    d = _dialogue()
    assert prior.predict(d, [], 0) == Prediction(0, 1, "hi")  # the opening, not overall's 4
    after_1 = prior.predict(d, [EvalTurn(0, "supporter", 1, "hi")], 2)
    assert (after_1.utt_index, after_1.strategy_id) == (2, 6)  # 6 twice beats 4 once
    # reply of 4: "b" five times, "a" twice: the most frequent, not the smallest
    assert prior.predict(d, [EvalTurn(0, "supporter", 4, "b")], 2) == Prediction(2, 4, "b")
    # after 11 (never seen): overall's most frequent
    assert prior.predict(d, [EvalTurn(0, "customer", None, "?"),
                             EvalTurn(1, "supporter", 11, "bye")], 2).strategy_id == 4


def test_the_prior_ignores_supporter_turns_without_a_strategy():
    turns = (EvalTurn(0, "supporter", None, "system note"), EvalTurn(1, "customer", None, "hi"),
             EvalTurn(2, "supporter", 3, "c"), EvalTurn(3, "customer", None, "ok"),
             EvalTurn(4, "supporter", 3, "c"))
    prior = StrategyPrior([EvalDialogue("a", "en", turns)])
    assert prior.predict(_dialogue(), [], 0) == Prediction(0, 3, "c")


def test_retrieval_context_is_the_last_two_turns_joined_by_a_newline():
    turns = [EvalTurn(i, "customer", None, t) for i, t in enumerate(["a", "b", "c"])]
    assert _context(turns) == "b\nc"
    assert _context(turns[:1]) == "a" and _context([]) == ""


def test_retrieval_reads_chinese_by_characters_and_their_order():
    # the same characters in another order: only the bigrams tell the two contexts apart, and
    # a Chinese sentence has no spaces for a word tokenizer to split
    training = [_train("a", "zh", [9], ["退款已到账"], customer="卡锁"),
                _train("b", "zh", [7], ["已为您解锁"], customer="锁卡")]
    r = Retrieval(training)
    p = r.predict(EvalDialogue("q", "zh", ()), [EvalTurn(0, "customer", None, "锁卡了")], 1)
    assert p == Prediction(1, 7, "已为您解锁")
    with pytest.raises(NoTrainingData, match="no accepted RoleCS dialogue in 'en'"):
        r.predict(_dialogue(), [], 0)


def test_build_names_the_baseline_and_refuses_others():
    training = [_train("a", "en", [1])]
    assert isinstance(build("strategy_prior", training), StrategyPrior)
    assert isinstance(build("retrieval", training), Retrieval)
    with pytest.raises(ValueError, match="unknown baseline 'knn'"):
        build("knn", training)


def test_the_training_fingerprint_is_the_set_of_dialogues():
    a, b, c = _train("a", "en", [1]), _train("b", "en", [1]), _train("c", "zh", [2])
    fp = training_fingerprint([a, b])
    assert fp == training_fingerprint([b, a])  # order does not matter
    assert fp != training_fingerprint([a, b, c]) and fp != training_fingerprint([a])
    assert len(fp) == 16 and int(fp, 16) >= 0


# ---- registry, in detail ------------------------------------------------------------------

def test_an_entry_says_what_shapes_its_answers_and_never_a_secret():
    m = ModelEntry("m1", model="Qwen", temperature=0.3, max_tokens=9, base_url="http://x/v1",
                   api_key_env="KEY")
    assert m.params() == {"model": "Qwen", "temperature": 0.3, "max_tokens": 9,
                          "base_url": "http://x/v1"}
    assert ModelEntry("p", baseline="retrieval").params() == {"baseline": "retrieval"}


def test_an_entry_answers_the_candidate_role_with_its_own_settings(monkeypatch):
    base = replace(_settings(), identity="old-endpoint",
                   unusable={Role.CANDIDATE: "no model", Role.PLANNER: "no model"})
    s = ModelEntry("m1", model="Qwen", temperature=0.3, max_tokens=9).settings_for(base)
    assert s.role(Role.CANDIDATE) == RoleSettings(model="Qwen", temperature=0.3, max_tokens=9,
                                                  timeout=30.0)  # the timeout stays
    assert Role.CANDIDATE not in s.unusable and Role.PLANNER in s.unusable
    assert (s.base_url, s.identity, s.api_key) == (base.base_url, "old-endpoint", "k")
    moved = ModelEntry("m2", model="Q", base_url="http://box/v1").settings_for(base)
    assert (moved.base_url, moved.identity) == ("http://box/v1", None)  # a new endpoint
    bare = replace(base, roles={})
    assert ModelEntry("m3", model="Q").settings_for(bare).role(Role.CANDIDATE).timeout == 120.0


def test_which_entries_are_the_simulator():
    sim = replace(_settings(), base_url="simulator")
    assert ModelEntry("a", model="sim-x").kind() == "simulator"
    assert ModelEntry("b", model="qwen", base_url="simulator").kind() == "simulator"
    assert ModelEntry("c", model="qwen").kind(sim) == "simulator"  # the default endpoint's
    assert ModelEntry("d", model="qwen", base_url="http://box/v1").kind(sim) == "model"
    assert ModelEntry("e", model="qwen").kind(_settings()) == "model"
    assert ModelEntry("f", model="qwen").kind() == "model"
    assert ModelEntry("g", baseline="retrieval").kind(sim) == "baseline"


def test_the_default_registry_takes_the_candidates_settings():
    s = replace(_settings(), roles={Role.CANDIDATE: RoleSettings(
        model="qwen-7b", temperature=0.4, max_tokens=64, timeout=30.0)})
    last = default_registry(s)[-1]
    assert (last.name, last.model, last.temperature, last.max_tokens) == (
        "qwen-7b", "qwen-7b", 0.4, 64)
    unusable = replace(s, unusable={Role.CANDIDATE: "no model"})
    assert [e.name for e in default_registry(unusable)] == ["strategy-prior", "retrieval-tfidf"]


def _one(tmp_path: Path, entry: str) -> ModelEntry:
    f = tmp_path / "models.yaml"
    f.write_text("models:\n  - name: a\n    baseline: retrieval\n" + entry)
    return load_registry(f)[1]


def test_registry_values_at_their_bounds(tmp_path: Path):
    assert _one(tmp_path, "  - name: b\n    model: m\n").temperature == 0.0  # the default
    hot = _one(tmp_path, "  - name: b\n    model: m\n    temperature: 2\n    max_tokens: 1\n")
    assert (hot.temperature, hot.max_tokens) == (2.0, 1)
    assert _one(tmp_path, "  - name: b\n    model: m\n    temperature: null\n").temperature \
        is None


@pytest.mark.parametrize(("entry", "message"), [
    ("    model: m\n    temperature: 2.01\n", "'temperature' must be a number from 0 to 2"),
    ("    model: m\n    temperature: true\n", "'temperature'"),
    ("    model: m\n    max_tokens: true\n", "'max_tokens' must be a whole number >= 1"),
    ("    model: m\n    max_tokens: 1.5\n", "'max_tokens'"),
    ("    model: '  '\n", "'model' must be a non-empty string"),
    ("    model: 5\n", "'model' must be a non-empty string"),
    ("    model: m\n    base_url: 5\n", "'base_url' must be a string"),
    ("    model: m\n    api_key_env: [K]\n", "'api_key_env' must be a string"),
])
def test_a_bad_value_names_the_file_the_entry_and_the_rule(tmp_path: Path, entry, message):
    with pytest.raises(RegistryError) as info:
        _one(tmp_path, "  - name: b\n" + entry)
    assert re.search(re.escape(message), str(info.value))
    assert f"{tmp_path / 'models.yaml'}, model 2 ('b')" in str(info.value)


def test_registry_messages_list_what_is_known(tmp_path: Path):
    f = tmp_path / "models.yaml"
    f.write_text("models:\n  - name: a\n    baseline: knn\n")
    with pytest.raises(RegistryError, match=r"known: strategy_prior, retrieval, classifier$"):
        load_registry(f)
    f.write_text("models:\n  - name: a\n    model: m\n    colour: red\n    size: 1\n")
    with pytest.raises(RegistryError, match="unknown key\\(s\\) colour, size; known: "
                                            "api_key_env, base_url, baseline, max_tokens"):
        load_registry(f)
    f.write_text("models:\n  - name: a\n")
    with pytest.raises(RegistryError, match="'baseline' \\(strategy_prior, retrieval or classifier\\)"):
        load_registry(f)
    f.write_text("models:\n  - a\n")
    with pytest.raises(RegistryError, match=", model 1: expected a mapping"):
        load_registry(f)
    f.write_text("models:\n  - {name: a, model: m}\n  - {name: b, model: m}\n"
                 "  - {name: a, model: n}\n  - {name: b, model: n}\n")
    with pytest.raises(RegistryError, match=r"repeated: a, b$"):
        load_registry(f)
    f.write_bytes(b"models:\n  - name: \xff\n")
    with pytest.raises(RegistryError, match="cannot be read"):
        load_registry(f)


def test_a_key_from_the_named_variable_and_a_clear_line_without_it(monkeypatch):
    entry = ModelEntry("m", model="Q", api_key_env="BOX_KEY")
    monkeypatch.delenv("BOX_KEY", raising=False)
    with pytest.raises(RegistryError, match="model 'm': the variable BOX_KEY that should hold "
                                            "its API key is not set"):
        entry.settings_for(_settings())


def test_an_unknown_model_name_lists_the_registered_ones(monkeypatch):
    from csc.eval.predict import find_model

    monkeypatch.delenv("CSC_EVAL_MODELS", raising=False)
    assert find_model("retrieval-tfidf", None).baseline == "retrieval"
    with pytest.raises(RegistryError, match="no model named 'gpt-x' in the registry; known: "
                                            "strategy-prior, retrieval-tfidf, qwen-7b"):
        find_model("gpt-x", _settings())
