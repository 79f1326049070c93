"""Offline baselines: the bar any model must clear, and a leaderboard the offline demo can
show without an LLM. Both learn from RoleCS accepted dialogues (the training set), never from
the CSConv set they are evaluated on.

- strategy prior: the strategy most often used after the previous supporter strategy (at the
  first supporter turn: after none) in the training dialogues of the language, falling back
  to the language's most frequent one; its reply is the training reply most often written
  with that strategy (ties: the first in sorted order), so its text metrics are a floor.
- retrieval: TF-IDF nearest neighbour. Each training supporter turn is keyed by the text of
  the two turns before it; the turn to predict is looked up by the same two turns of its
  history, and the neighbour's strategy and reply are the answer. Character 1-2-grams
  (`char_wb`) serve Chinese, which has no spaces, and English alike.
- classifier: a learnt strategy classifier with the retrieval responder. A logistic regression
  over the same TF-IDF context features, plus the previous supporter strategy, picks the
  strategy; the reply is the nearest training turn that used it. What the local fine-tune
  provider trains from an export (csc/finetune/providers/local.py), so its base is retrieval:
  the same responder before it learns which strategy the context calls for.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from csc.eval.context import EvalDialogue, EvalTurn, Prediction

VERSION = "1"  # part of a baseline's run key: bump when its logic changes
CONTEXT_TURNS = 2


class NoTrainingData(ValueError):
    """A baseline with nothing to learn from in a language."""


def training_fingerprint(dialogues: list[EvalDialogue]) -> str:
    """Which training set a baseline learnt from: a new accepted RoleCS dialogue is a new
    baseline run."""
    ids = sorted(d.dialogue_id for d in dialogues)
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def _supporter_turns(d: EvalDialogue):
    """(previous supporter strategy, position, turn) for each supporter turn with a strategy."""
    previous: int | None = None
    for i, t in enumerate(d.turns):
        if t.speaker == "supporter" and t.strategy_id is not None:
            yield previous, i, t
            previous = t.strategy_id


class StrategyPrior:
    def __init__(self, training: list[EvalDialogue]) -> None:
        after: dict[str, dict[int | None, Counter]] = defaultdict(lambda: defaultdict(Counter))
        overall: dict[str, Counter] = defaultdict(Counter)
        replies: dict[tuple[str, int], Counter] = defaultdict(Counter)
        for d in training:
            for previous, _, t in _supporter_turns(d):
                after[d.language][previous][t.strategy_id] += 1
                overall[d.language][t.strategy_id] += 1
                replies[(d.language, t.strategy_id)][t.text] += 1
        self.after, self.overall, self.replies = after, overall, replies

    def predict(self, d: EvalDialogue, history: list[EvalTurn], utt_index: int) -> Prediction:
        lang = d.language
        if not self.overall.get(lang):
            raise NoTrainingData(f"no accepted RoleCS dialogue in '{lang}' to learn from")
        previous = next((t.strategy_id for t in reversed(history) if t.speaker == "supporter"),
                        None)
        counts = self.after[lang].get(previous) or self.overall[lang]
        sid = _most_common(counts)
        return Prediction(utt_index, sid, _most_common(self.replies[(lang, sid)]))


def _most_common(counts: Counter):
    """The most frequent key; ties go to the smallest, so the choice never depends on the
    order the training rows were read in."""
    best = max(counts.values())
    return min(k for k, v in counts.items() if v == best)


def _context(turns: list[EvalTurn] | tuple[EvalTurn, ...]) -> str:
    return "\n".join(t.text for t in turns[-CONTEXT_TURNS:])


def _no_text(_: str) -> list[str]:
    return ["<context>"]


def _vectorise(keys: list[str]) -> tuple[TfidfVectorizer, object]:
    """TF-IDF of the contexts (character 1-2-grams). When no context has a character (every
    turn an opening, or empty texts), every context is the same one feature: scikit-learn
    refuses an empty vocabulary, and there is no text to tell the turns apart anyway."""
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 2))
    try:
        return vectoriser, vectoriser.fit_transform(keys)
    except ValueError:  # empty vocabulary
        vectoriser = TfidfVectorizer(analyzer=_no_text)
        return vectoriser, vectoriser.fit_transform(keys)


class Retrieval:
    def __init__(self, training: list[EvalDialogue]) -> None:
        self.index: dict[str, tuple[TfidfVectorizer, object, list[EvalTurn]]] = {}
        by_lang: dict[str, tuple[list[str], list[EvalTurn]]] = defaultdict(lambda: ([], []))
        for d in sorted(training, key=lambda d: d.dialogue_id):
            keys, turns = by_lang[d.language]
            for _, i, t in _supporter_turns(d):
                keys.append(_context(d.turns[:i]))
                turns.append(t)
        for lang, (keys, turns) in by_lang.items():
            self.index[lang] = (*_vectorise(keys), turns)

    def predict(self, d: EvalDialogue, history: list[EvalTurn], utt_index: int) -> Prediction:
        found = self.index.get(d.language)
        if found is None:
            raise NoTrainingData(f"no accepted RoleCS dialogue in '{d.language}' to learn from")
        vectoriser, matrix, turns = found
        query = vectoriser.transform([_context(history)])
        scores = (matrix @ query.T).toarray().ravel()  # rows are L2-normalised: cosine
        best = turns[int(np.argmax(scores))]  # ties: the first, in dialogue-id order
        return Prediction(utt_index, best.strategy_id, best.text)


def _previous_strategy(turns) -> csr_matrix:
    """One-hot of the previous supporter strategy (column 0: none yet), one row per context."""
    rows = [next((t.strategy_id for t in reversed(h) if t.speaker == "supporter"), None) or 0
            for h in turns]
    return csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), rows)), shape=(len(rows), 13))


class Classifier:
    """Strategy by logistic regression over the context, reply by retrieval within it."""

    def __init__(self, training: list[EvalDialogue]) -> None:
        self.models: dict[str, tuple] = {}
        by_lang: dict[str, tuple[list, list[EvalTurn]]] = defaultdict(lambda: ([], []))
        for d in sorted(training, key=lambda d: d.dialogue_id):
            histories, turns = by_lang[d.language]
            for _, i, t in _supporter_turns(d):
                histories.append(d.turns[:i])
                turns.append(t)
        for lang, (histories, turns) in by_lang.items():
            vectoriser, text = _vectorise([_context(h) for h in histories])
            labels = [t.strategy_id for t in turns]
            # lbfgs is deterministic for the same data; one class has nothing to learn
            model = (LogisticRegression(max_iter=1000).fit(
                hstack([text, _previous_strategy(histories)]).tocsr(), labels)
                if len(set(labels)) > 1 else labels[0])
            by_strategy = {sid: np.array([i for i, t in enumerate(turns) if t.strategy_id == sid])
                           for sid in set(labels)}
            self.models[lang] = (vectoriser, model, text, turns, by_strategy)

    def predict(self, d: EvalDialogue, history: list[EvalTurn], utt_index: int) -> Prediction:
        found = self.models.get(d.language)
        if found is None:
            raise NoTrainingData(f"no training dialogue in '{d.language}' to learn from")
        vectoriser, model, matrix, turns, by_strategy = found
        query = vectoriser.transform([_context(history)])
        sid = (model if isinstance(model, int) else
               int(model.predict(hstack([query, _previous_strategy([history])]).tocsr())[0]))
        same = by_strategy[sid]
        scores = (matrix[same] @ query.T).toarray().ravel()
        best = turns[int(same[np.argmax(scores)])]  # ties: the first, in dialogue-id order
        return Prediction(utt_index, sid, best.text)


def build(baseline: str, training: list[EvalDialogue]) -> StrategyPrior | Retrieval | Classifier:
    if baseline == "strategy_prior":
        return StrategyPrior(training)
    if baseline == "retrieval":
        return Retrieval(training)
    if baseline == "classifier":
        return Classifier(training)
    raise ValueError(f"unknown baseline {baseline!r}")
