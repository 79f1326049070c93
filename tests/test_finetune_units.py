"""The pure parts of the fine-tune loop, fast enough for `make mutate`: the learnt classifier
baseline the local provider trains, an export's training file read back, and the registry
entries a succeeded job adds (tests/test_finetune_local.py runs them over a warehouse)."""

from __future__ import annotations

import pytest

from csc.eval.baselines import Classifier, Retrieval
from csc.eval.context import EvalDialogue, EvalTurn
from csc.eval.registry import ModelEntry
from csc.finetune.providers.local import read_dialogues
from csc.finetune.registered import finetuned_entries


def test_a_line_that_is_not_an_example_is_named(tmp_path):
    f = tmp_path / "openai.train.jsonl"
    f.write_text('{"messages": []}\n{"messages": [{"role": "assistant", "content": "hi"}]}\n')
    with pytest.raises(ValueError, match="line 2 is not a chat example: is not a JSON object"):
        read_dialogues(f, "x")


def _turns(*spec) -> tuple[EvalTurn, ...]:
    return tuple(EvalTurn(i, sp, sid, text) for i, (sp, sid, text) in enumerate(spec))


def test_the_classifier_learns_which_strategy_a_context_calls_for():
    # "refund" is always answered with strategy 7, "password" with 4; the replies of each
    # strategy differ, so the reply shows which strategy's turns it was retrieved from
    training = []
    for k in range(6):
        training.append(EvalDialogue(f"r{k}", "en", _turns(
            ("customer", None, f"I want a refund for order {k}"),
            ("supporter", 7, f"Refund {k} is on its way"))))
        training.append(EvalDialogue(f"p{k}", "en", _turns(
            ("customer", None, f"I forgot my password again {k}"),
            ("supporter", 4, f"Which account is it, {k}?"))))
    model = Classifier(training)
    d = EvalDialogue("q", "en", ())
    refund = model.predict(d, list(_turns(("customer", None, "a refund please"))), 1)
    password = model.predict(d, list(_turns(("customer", None, "password reset"))), 1)
    assert (refund.strategy_id, password.strategy_id) == (7, 4)
    assert refund.text.startswith("Refund") and password.text.startswith("Which account")
    assert refund.utt_index == 1


def test_one_strategy_only_is_that_strategy_and_an_unseen_language_says_so():
    one = [EvalDialogue("a", "zh", _turns(("customer", None, "你好"), ("supporter", 1, "您好")))]
    model = Classifier(one)
    d = EvalDialogue("q", "zh", ())
    assert model.predict(d, [], 0).strategy_id == 1
    with pytest.raises(ValueError, match="no training dialogue in 'en'"):
        model.predict(EvalDialogue("q", "en", ()), [], 0)


def test_an_api_model_is_asked_like_its_base_and_a_missing_base_keeps_its_name():
    base = ModelEntry("gpt-small", model="gpt-4o-mini", base_url="http://x/v1",
                      api_key_env="K", temperature=0.2, max_tokens=300)
    added = finetuned_entries([base], [("openai", "gpt-4o-mini", "e" * 16, "ft:gpt-4o-mini:x",
                                        "/f")])
    assert added == [ModelEntry("ft:gpt-4o-mini:x", model="ft:gpt-4o-mini:x",
                                base_url="http://x/v1", api_key_env="K", temperature=0.2,
                                max_tokens=300, base="gpt-small")]
    other = finetuned_entries([base], [("openai", "llama-8b", "e" * 16, "ft:llama", "/f")])
    assert other == [ModelEntry("ft:llama", model="ft:llama", base="llama-8b")]
    assert added[0].params()["base"] == "gpt-small" and "base" not in base.params()


def test_the_retrieval_base_and_the_classifier_share_their_responder():
    # same training, same context: when the classifier picks the neighbour's strategy, the
    # reply is the neighbour's too
    training = [EvalDialogue("a", "en", _turns(("customer", None, "my card is blocked"),
                                               ("supporter", 4, "Which card?"))),
                EvalDialogue("b", "en", _turns(("customer", None, "thanks a lot"),
                                               ("supporter", 11, "Goodbye!")))]
    history = list(_turns(("customer", None, "my card is blocked")))
    d = EvalDialogue("q", "en", ())
    assert Classifier(training).predict(d, history, 1) == Retrieval(training).predict(
        d, history, 1)


def test_the_previous_strategy_decides_where_the_text_cannot():
    # every supporter turn reads "Sure." and every customer turn "ok": the text of the context
    # is the same everywhere, only the strategy before it tells 4 (after 1) from 7 (after 4)
    training = [EvalDialogue(f"d{k}", "en", _turns(
        ("supporter", 1, "Sure."), ("customer", None, "ok"), ("supporter", 4, "Sure."),
        ("customer", None, "ok"), ("supporter", 7, "Sure."))) for k in range(5)]
    model, d = Classifier(training), EvalDialogue("q", "en", ())
    after = [model.predict(d, list(_turns(("supporter", sid, "Sure."), ("customer", None, "ok"))),
                           2).strategy_id for sid in (1, 4)]
    assert after == [4, 7]


def test_a_local_model_is_the_classifier_learnt_from_its_export_found_by_base_name_or_model():
    registry = [ModelEntry("retrieval-tfidf", baseline="retrieval"),
                ModelEntry("small", model="gpt-4o-mini")]
    rows = [("local", "retrieval-tfidf", "e1" * 8, "retrieval-tfidf+local-ft-e1e1e1e1", "/x/e1"),
            # the same model again (a second job row naming it): added once, and the rows
            # after it still count
            ("local", "retrieval-tfidf", "e1" * 8, "retrieval-tfidf+local-ft-e1e1e1e1", "/x/e1"),
            ("local", "nowhere", "e2" * 8, "nowhere+local-ft-e2e2e2e2", "/x/e2"),
            ("openai", "gpt-4o-mini", "e3" * 8, "ft:gpt-4o-mini:org:1", "/x/e3")]
    assert finetuned_entries(registry, rows) == [
        ModelEntry("retrieval-tfidf+local-ft-e1e1e1e1", baseline="classifier",
                   trained_on="/x/e1", base="retrieval-tfidf"),
        ModelEntry("nowhere+local-ft-e2e2e2e2", baseline="classifier", trained_on="/x/e2",
                   base="nowhere"),
        ModelEntry("ft:gpt-4o-mini:org:1", model="ft:gpt-4o-mini:org:1", base="small")]


def test_an_api_job_on_a_baseline_name_is_asked_as_a_model():
    registry = [ModelEntry("retrieval-tfidf", baseline="retrieval")]
    assert finetuned_entries(registry, [("openai", "retrieval-tfidf", "e", "ft:x", "/f")]) == [
        ModelEntry("ft:x", model="ft:x", base="retrieval-tfidf")]


def test_the_reply_is_the_nearest_turn_of_the_chosen_strategy_not_its_first():
    training = [EvalDialogue(f"d{k}", "en", _turns(
        ("customer", None, topic), ("supporter", 5, reply)))
        for k, (topic, reply) in enumerate([("my parcel is late", "Sorry about the parcel."),
                                            ("the app keeps crashing", "Sorry about the app."),
                                            ("I was charged twice", "Sorry about the charge.")])]
    model, d = Classifier(training), EvalDialogue("q", "en", ())
    said = model.predict(d, list(_turns(("customer", None, "the app crashed again"))), 1)
    assert (said.strategy_id, said.text) == (5, "Sorry about the app.")


def test_no_supporter_turn_yet_is_its_own_feature():
    # empty texts: only the previous strategy tells the opening (1) from the turn after it (4)
    training = [EvalDialogue(f"d{k}", "en", _turns(
        ("supporter", 1, ""), ("customer", None, ""), ("supporter", 4, ""))) for k in range(4)]
    model, d = Classifier(training), EvalDialogue("q", "en", ())
    assert model.predict(d, [], 0).strategy_id == 1
    after = list(_turns(("supporter", 1, ""), ("customer", None, "")))
    assert model.predict(d, after, 2).strategy_id == 4


def test_build_makes_the_classifier_by_name():
    from csc.eval.baselines import build

    one = [EvalDialogue("a", "en", _turns(("customer", None, "hi"), ("supporter", 1, "Hello")))]
    model = build("classifier", one)
    assert isinstance(model, Classifier)
    assert model.predict(EvalDialogue("q", "en", ()), [], 0).text == "Hello"


def test_a_training_set_of_openings_only_has_no_text_to_learn_and_still_answers():
    # every supporter turn opens its dialogue: no context has a character (scikit-learn
    # refuses an empty vocabulary; the baselines must not)
    openings = [EvalDialogue(f"o{k}", "zh", _turns(("supporter", 1, f"您好{k}")))
                for k in range(3)]
    d = EvalDialogue("q", "zh", ())
    assert Retrieval(openings).predict(d, [], 0).text == "您好0"
    assert Classifier(openings).predict(d, [], 0).strategy_id == 1
