"""Corpus BLEU from per-sentence sufficient statistics, so the bootstrap can resample it.

sacrebleu (pinned 2.6.0) extracts each sentence's statistics with its own tokenisers ('zh' for
Chinese turns, '13a' for English ones); a corpus BLEU is a function of their sums only. Summing
the statistics of both languages is how a mixed run gets one BLEU: each turn is tokenised by its
own language and the n-gram counts are pooled. `bleu_from_stats` is sacrebleu's
`BLEU.compute_bleu` (default 'exp' smoothing, no effective order) vectorised with numpy over
many resampled sums at once; tests check it equals `corpus_score(...).score`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sacrebleu.metrics.bleu import BLEU

MAX_ORDER = 4
# Columns of a statistics row: hyp_len, ref_len, correct_1..4, total_1..4 (sacrebleu's layout).
N_STATS = 2 + 2 * MAX_ORDER
TOKENIZERS = {"zh": "zh", "en": "13a"}


def sentence_stats(hyps: Sequence[str], refs: Sequence[str], languages: Sequence[str]
                   ) -> np.ndarray:
    """(n, 10) int64 statistics per turn, each turn tokenised by its language. Orders 1-4 are
    counted once: BLEU-2 reads the first two orders of the same rows."""
    out = np.zeros((len(hyps), N_STATS), dtype=np.int64)
    for language, tokenize in TOKENIZERS.items():
        idx = [i for i, lang in enumerate(languages) if lang == language]
        if not idx:
            continue
        # force=True: replies ending in " ." are real text here, not pre-tokenised output
        bleu = BLEU(tokenize=tokenize, max_ngram_order=MAX_ORDER, force=True)
        # sacrebleu's sentence-statistics step of corpus_score (private, pinned version)
        stats = bleu._extract_corpus_statistics([hyps[i] for i in idx], [[refs[i] for i in idx]])
        out[idx] = np.asarray(stats, dtype=np.int64)
    return out


def order_columns(order: int) -> list[int]:
    """The statistics columns BLEU-`order` reads: lengths, correct_1..order, total_1..order."""
    return [0, 1, *range(2, 2 + order), *range(2 + MAX_ORDER, 2 + MAX_ORDER + order)]


def bleu_from_stats(sums: np.ndarray, order: int) -> np.ndarray:
    """BLEU-`order` (x100) of each row of summed statistics (shape (..., 10)), exactly as
    sacrebleu's `compute_bleu` with smooth_method='exp' and effective_order=False."""
    sums = np.asarray(sums, dtype=np.float64)
    sys_len, ref_len = sums[..., 0], sums[..., 1]
    correct = sums[..., 2:2 + order]
    total = sums[..., 2 + MAX_ORDER:2 + MAX_ORDER + order]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len,
                      np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
        # 'exp' smoothing: the k-th order with no match gets precision 100 / (2^k * total)
        zero_rank = np.cumsum(correct == 0, axis=-1)
        precision = np.where(correct > 0, 100.0 * correct / total,
                             100.0 / (2.0 ** zero_rank * total))
        log_mean = np.log(precision).sum(axis=-1) / order
        score = bp * np.exp(log_mean)
    # sacrebleu: 0 when nothing matches, and 0 once an order has no n-gram at all
    # (its loop breaks there, leaving that precision at 0 and its log at -1e10)
    dead = ~(correct > 0).any(axis=-1) | (total == 0).any(axis=-1)
    return np.where(dead, 0.0, score)


def bleu_point(stats_sum: np.ndarray, order: int) -> float:
    """BLEU-`order` (x100) of one sum of statistics, by sacrebleu itself."""
    bleu = BLEU(max_ngram_order=order)
    row = np.asarray(stats_sum, dtype=np.int64)[order_columns(order)]
    return float(bleu._compute_score_from_stats(row.tolist()).score)
