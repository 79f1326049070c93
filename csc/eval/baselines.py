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
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

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
            vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 2))
            self.index[lang] = (vectoriser, vectoriser.fit_transform(keys), turns)

    def predict(self, d: EvalDialogue, history: list[EvalTurn], utt_index: int) -> Prediction:
        found = self.index.get(d.language)
        if found is None:
            raise NoTrainingData(f"no accepted RoleCS dialogue in '{d.language}' to learn from")
        vectoriser, matrix, turns = found
        query = vectoriser.transform([_context(history)])
        scores = (matrix @ query.T).toarray().ravel()  # rows are L2-normalised: cosine
        best = turns[int(np.argmax(scores))]  # ties: the first, in dialogue-id order
        return Prediction(utt_index, best.strategy_id, best.text)


def build(baseline: str, training: list[EvalDialogue]) -> StrategyPrior | Retrieval:
    if baseline == "strategy_prior":
        return StrategyPrior(training)
    if baseline == "retrieval":
        return Retrieval(training)
    raise ValueError(f"unknown baseline {baseline!r}")
