"""csc/eval/metrics.py: every headline metric against numbers worked out by hand (in the
comments), BLEU against sacrebleu, ROUGE-L against rouge-score, macro-F1 against scikit-learn,
and the bootstrap's seed, unit (the dialogue) and paired comparison."""

from __future__ import annotations

import math
import random
import sys

import numpy as np
import polars as pl
import pytest
from sacrebleu.metrics.bleu import BLEU

from csc.eval import metrics
from csc.eval.bleu import bleu_from_stats, sentence_stats
from csc.eval.bootstrap import draw_counts
from csc.eval.metrics import compare, evaluate
from csc.eval.text import tokens, turn_rouge_l
from csc.eval.types import HEADLINE, PREDICTION_SCHEMA


def frame(rows: list[tuple]) -> pl.DataFrame:
    """(dialogue_id, turn, language, gold, pred, gold_text, pred_text, parse_status) rows."""
    return pl.DataFrame(rows, schema=PREDICTION_SCHEMA, orient="row")


# Two dialogues of unequal size (2 + 3 turns), zh and en, one parse failure.
FIVE = frame([
    ("d1", 1, "zh", 1, 1, "您好请问", "您好", "ok"),             # right
    ("d1", 3, "zh", 2, 1, "请稍等", "请等一下", "ok"),           # wrong, same phase
    ("d2", 1, "en", 6, 6, "Please reset the password.", "Reset your password please.", "ok"),
    ("d2", 3, "en", 11, None, "Thank you, goodbye!", None, "failed"),   # failure: wrong
    ("d2", 5, "en", 12, 12, "Anything else?", "Anything else? Please.", "ok"),  # Others, right
])


@pytest.fixture(scope="module")
def five():
    return evaluate(FIVE, resamples=200, seed=1)


def test_accuracy_counts_failures_and_pools_turns(five):
    # 3 right of 5 turns = 60.0 (not the mean of dialogue accuracies 1/2 and 2/3 = 58.33, and
    # not 3 of the 4 readable turns = 75.0)
    assert five.headline["acc"].value == pytest.approx(60.0)
    assert five.headline["acc"].n == 5
    assert five.headline["parse_failures"].value == pytest.approx(20.0)  # 1 of 5


def test_macro_f1_by_hand_and_by_sklearn(five):
    # labels in gold or prediction: 1, 2, 6, 11, 12 (the failure is not a label)
    # 1: TP 1 (d1 t1), FP 1 (d1 t3), FN 0 -> F1 = 2/(2+1) = 2/3
    # 2: FN 1 -> 0;  6: 1;  11: FN 1 (the failure) -> 0;  12: 1
    # macro = (2/3 + 0 + 1 + 0 + 1) / 5 = 8/15
    assert five.headline["macro_f1"].value == pytest.approx(100 * 8 / 15)
    from sklearn.metrics import f1_score

    gold, pred = [1, 2, 6, 11, 12], [1, 1, 6, 0, 12]
    assert five.headline["macro_f1"].value == pytest.approx(
        100 * f1_score(gold, pred, labels=[1, 2, 6, 11, 12], average="macro", zero_division=0))


def test_per_strategy_confusion_and_phase_accuracy(five):
    by_id = {s.strategy_id: s for s in five.per_strategy}
    assert sorted(by_id) == [1, 2, 6, 11, 12]
    assert (by_id[1].precision, by_id[1].recall, by_id[1].support) == (50.0, 100.0, 1)
    assert by_id[1].f1 == pytest.approx(200 / 3)
    assert (by_id[11].precision, by_id[11].recall, by_id[11].f1, by_id[11].support) == (0, 0, 0, 1)
    assert len(five.confusion) == 12 and all(len(row) == 13 for row in five.confusion)
    assert five.confusion[0][0] == 1   # gold 1 -> 1
    assert five.confusion[1][0] == 1   # gold 2 -> 1
    assert five.confusion[10][12] == 1  # gold 11 -> failed (13th column)
    assert five.confusion[11][11] == 1  # gold 12 -> 12
    assert sum(map(sum, five.confusion)) == 5
    # connecting: 1 of 2 right; exploring (6): 1/1; maintaining (11): 0/1; Others: 1/1
    assert five.phase_accuracy == {"connecting": 50.0, "exploring": 100.0,
                                   "maintaining": 0.0, "others": 100.0}


def test_stage_accuracy_with_others_and_failures(five):
    # d1 t1 1->1 connecting = connecting; d1 t3 2->1 both connecting; 6->6; failure: no;
    # Others -> Others: a match. 4 of 5.
    assert five.headline["stage_acc"].value == pytest.approx(80.0)
    pairs = frame([
        ("a", 1, "en", 12, 11, "x", "y", "ok"),   # Others vs a phase: no
        ("a", 2, "en", 3, 12, "x", "y", "ok"),    # a phase vs Others: no
        ("a", 3, "en", 12, 12, "x", "y", "ok"),   # Others vs Others: yes
        ("a", 4, "en", 3, 4, "x", "y", "ok"),     # RP vs PR: both identifying (PR's first): yes
        ("a", 5, "en", 4, 6, "x", "y", "ok"),     # PR (identifying) vs PS (exploring): no
        ("a", 6, "en", 9, 11, "x", "y", "ok"),    # both maintaining: yes
        ("a", 7, "en", 12, None, "x", None, "failed"),  # failure: no
        ("a", 8, "en", 1, 1, "x", "y", "ok"),     # yes
    ])
    assert evaluate(pairs, resamples=0).headline["stage_acc"].value == pytest.approx(50.0)


def test_rouge_l_by_hand(five):
    # d1 t1: 您好请问 / 您好: LCS 2, P 1, R 1/2 -> F 2/3
    # d1 t3: 请稍等 / 请等一下: LCS 2 (请等), P 2/4, R 2/3 -> F 4/7
    # d2 t1: please reset the password / reset your password please: LCS 2, P = R = 1/2 -> 1/2
    # d2 t3: failed -> 0;  d2 t5: anything else / anything else please: P 2/3, R 1 -> 4/5
    # mean = (2/3 + 4/7 + 1/2 + 0 + 4/5) / 5 = (140 + 120 + 105 + 168) / 210 / 5 = 533/1050
    assert five.headline["rouge_l"].value == pytest.approx(100 * 533 / 1050)


def test_distinct_and_length_by_hand(five):
    # replies: 您好 (2) | 请等一下 (4) | reset your password please (4) | failed (0) |
    # anything else please (3): 13 tokens, 12 different ('please' twice)
    assert five.headline["distinct1"].value == pytest.approx(100 * 12 / 13)
    # bigrams: 1 + 3 + 3 + 2 = 9, all different
    assert five.headline["distinct2"].value == pytest.approx(100.0)
    assert five.headline["resp_len"].value == pytest.approx(13 / 5)  # failure counts as 0
    repeats = evaluate(frame([
        ("a", 1, "en", 1, 1, "x", "Yes yes no", "ok"),
        ("a", 2, "en", 1, 1, "x", "yes, NO!", "ok"),
        ("b", 1, "zh", 1, 1, "x", "好 好", "ok"),
    ]), resamples=0).headline
    # unigrams: yes yes no | yes no | 好 好 -> 7, different {yes, no, 好} = 3
    assert repeats["distinct1"].value == pytest.approx(100 * 3 / 7)
    # bigrams: (yes yes) (yes no) | (yes no) | (好 好) -> 4, 3 different; none spans two turns
    # (a span would add (no yes): 5 bigrams)
    assert repeats["distinct2"].value == pytest.approx(100 * 3 / 4)
    assert repeats["resp_len"].value == pytest.approx(7 / 3)  # 3 words, 2 words, 2 characters
    assert repeats["distinct1"].ci_low is None  # no interval for distinct (NO_INTERVAL)


def test_failed_status_wins_over_a_strategy_and_text():
    # the answer 'failed' but carrying the right strategy and the reference text: still wrong,
    # still an empty reply
    ev = evaluate(frame([("a", 1, "en", 11, 11, "Thank you, goodbye!", "Thank you, goodbye!",
                          "failed")]), resamples=0).headline
    assert ev["acc"].value == 0.0
    assert ev["rouge_l"].value == 0.0
    assert ev["bleu4"].value == 0.0
    assert ev["resp_len"].value == 0.0


def _bleu_parts(rows: list[tuple], language: str, order: int):
    sub = [r for r in rows if r[2] == language]
    hyps = ["" if r[7] == "failed" or r[6] is None else r[6] for r in sub]
    bleu = BLEU(tokenize="zh" if language == "zh" else "13a", max_ngram_order=order)
    return bleu.corpus_score(hyps, [[r[5] for r in sub]])


@pytest.mark.parametrize("order", [2, 4])
def test_bleu_mixed_run_sums_sacrebleu_statistics(five, order):
    rows = FIVE.rows()
    zh, en = _bleu_parts(rows, "zh", order), _bleu_parts(rows, "en", order)
    expected = BLEU.compute_bleu(
        [a + b for a, b in zip(zh.counts, en.counts, strict=True)],
        [a + b for a, b in zip(zh.totals, en.totals, strict=True)],
        zh.sys_len + en.sys_len, zh.ref_len + en.ref_len, smooth_method="exp",
        max_ngram_order=order).score
    assert five.headline[f"bleu{order}"].value == pytest.approx(expected, abs=1e-9)
    # a one-language run is exactly sacrebleu's corpus BLEU with that language's tokeniser
    zh_only = evaluate(FIVE.filter(pl.col("language") == "zh"), resamples=0)
    assert zh_only.headline[f"bleu{order}"].value == pytest.approx(zh.score, abs=1e-9)


def test_bleu2_by_hand():
    one = evaluate(frame([("a", 1, "en", 1, 1, "the cat sat on the mat", "the cat sat on mat",
                           "ok")]), resamples=0).headline
    # unigrams 5/5, bigrams 3/4 (the-cat, cat-sat, sat-on; not on-mat), hyp 5 < ref 6:
    # BP = exp(1 - 6/5); BLEU-2 = BP * sqrt(1 * 3/4)
    assert one["bleu2"].value == pytest.approx(100 * math.exp(-0.2) * math.sqrt(0.75))
    smoothed = evaluate(frame([("a", 1, "en", 1, 1, "a b c d", "b a d c", "ok")]),
                        resamples=0).headline
    # unigrams 4/4, bigrams 0/3: 'exp' smoothing gives the first empty order 1/(2*3); BP 1
    assert smoothed["bleu2"].value == pytest.approx(100 * math.sqrt(1 / 6))


def _random_corpus(rnd: random.Random, n: int) -> tuple[list[str], list[str], list[str]]:
    zh_chars, en_words = "您好请问稍等一下订单退款，。", ["the", "order", "is", "late", "Refund",
                                                   "please", "wait", "ok", "a", "."]
    hyps, refs, langs = [], [], []
    for _ in range(n):
        lang = rnd.choice(["zh", "en"])
        pick = (lambda k: "".join(rnd.choices(zh_chars, k=k))) if lang == "zh" else (
            lambda k: " ".join(rnd.choices(en_words, k=k)))
        hyps.append("" if rnd.random() < 0.1 else pick(rnd.randint(1, 12)))
        refs.append(pick(rnd.randint(1, 12)))
        langs.append(lang)
    return hyps, refs, langs


@pytest.mark.parametrize("order", [2, 4])
def test_vectorised_bleu_equals_sacrebleu_on_whole_and_resampled_corpora(order):
    rnd = random.Random(order)
    hyps, refs, _ = _random_corpus(rnd, 60)
    langs = ["en"] * len(hyps)  # one tokeniser, so sacrebleu's corpus_score is the reference
    stats = sentence_stats(hyps, refs, langs)
    whole = BLEU(max_ngram_order=order).corpus_score(hyps, [refs]).score
    assert bleu_from_stats(stats.sum(axis=0), order) == pytest.approx(whole, abs=1e-9)
    counts = draw_counts(len(hyps), 25, seed=3)
    vectorised = bleu_from_stats(counts @ stats, order)
    for row, value in zip(counts.astype(int), vectorised, strict=True):
        idx = [i for i, c in enumerate(row) for _ in range(c)]
        expected = BLEU(max_ngram_order=order).corpus_score(
            [hyps[i] for i in idx], [[refs[i] for i in idx]]).score
        assert value == pytest.approx(expected, abs=1e-9)
    # tiny corpora hit the special cases: no match at all, an order with no n-gram
    for h, r in (("", "a b"), ("x y z", "a b c"), ("a", "a b c"), ("a b", "a b")):
        s = sentence_stats([h], [r], ["en"])
        expected = BLEU(max_ngram_order=order).corpus_score([h], [[r]]).score
        assert bleu_from_stats(s.sum(axis=0), order) == pytest.approx(expected, abs=1e-9)


def test_rouge_l_equals_rouge_score():
    from rouge_score import rouge_scorer

    class Characters:
        def tokenize(self, text: str) -> list[str]:
            return tokens(text, "zh")

    en = rouge_scorer.RougeScorer(["rougeL"])
    zh = rouge_scorer.RougeScorer(["rougeL"], tokenizer=Characters())
    rnd = random.Random(7)
    hyps, refs, langs = _random_corpus(rnd, 300)
    for h, r, lang in zip(hyps, refs, langs, strict=True):
        scorer = zh if lang == "zh" else en
        assert turn_rouge_l(r, h, lang) == scorer.score(r, h)["rougeL"].fmeasure
    assert tokens("Don't STOP, 2 go!", "en") == ["don", "t", "stop", "2", "go"]
    assert tokens("您 好，\n世界", "zh") == ["您", "好", "，", "世", "界"]


def test_macro_f1_resampled_formula_equals_sklearn():
    from sklearn.metrics import f1_score

    rnd = random.Random(5)
    rows = []
    for d in range(30):
        for t in range(rnd.randint(1, 6)):
            gold = rnd.randint(1, 12)
            pred = None if rnd.random() < 0.1 else rnd.choice([gold, rnd.randint(1, 12)])
            rows.append((f"d{d}", t, "en", gold, pred, "x", "y",
                         "failed" if pred is None else "ok"))
    # and a run where strategy 3 is only ever predicted, never gold (it still counts, F1 0)
    rows += [("z", 1, "en", 1, 3, "x", "y", "ok"), ("z", 2, "en", 1, 1, "x", "y", "ok")]
    for part in (rows, rows[-2:]):
        stats = metrics._prepare(frame(part), {})
        via_counts = metrics._resampled(stats, "macro_f1", np.ones((1, len(stats.turns))))[0]
        gold = [r[3] for r in part]
        pred = [r[4] or 0 for r in part]
        labels = sorted((set(gold) | set(pred)) - {0})
        assert via_counts == pytest.approx(
            100 * f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
    assert via_counts == pytest.approx(100 * (2 / 3 + 0) / 2)  # 1: TP 1, FN 1; 3: FP 1


def _all_or_nothing(n_dialogues: int = 20, turns: int = 10) -> pl.DataFrame:
    """Half the dialogues entirely right, half entirely wrong."""
    return frame([(f"d{d:02d}", t, "en", 6, 6 if d % 2 else 7, "a b c", "a b c", "ok")
                  for d in range(n_dialogues) for t in range(turns)])


def test_bootstrap_is_seeded_contains_the_value_and_can_be_off(five):
    again = evaluate(FIVE, resamples=200, seed=1)
    assert again.headline == five.headline
    big = _random_frame()
    ev = evaluate(big, resamples=300, seed=0)
    other = evaluate(big, resamples=300, seed=1)
    assert all(other.headline[m].ci_low != ev.headline[m].ci_low
               for m in ("acc", "rouge_l", "bleu2"))
    for name in HEADLINE:
        m = ev.headline[name]
        if name in metrics.NO_INTERVAL:
            assert m.ci_low is None and m.ci_high is None
            continue
        assert m.ci_low < m.value < m.ci_high, name
    off = evaluate(big, resamples=0)
    assert all(m.ci_low is None and m.ci_high is None for m in off.headline.values())
    assert off.headline["acc"].value == ev.headline["acc"].value


def test_bootstrap_resamples_dialogues_not_turns():
    ev = evaluate(_all_or_nothing(), resamples=1000, seed=0).headline["acc"]
    assert ev.value == 50.0
    # by dialogue: the share of right dialogues among 20 draws, sd = sqrt(.25/20) = 11.2 points,
    # so the 95% interval is about 45 points wide; resampling the 200 turns would give about
    # 2 * 1.96 * sqrt(.25/200) = 14 points
    assert ev.ci_high - ev.ci_low > 30
    # and every resample moves whole dialogues: each bound is a multiple of 1/20
    assert (ev.ci_low * 20 / 100) % 1 == pytest.approx(0, abs=1e-9)
    counts = draw_counts(7, 50, seed=0)
    assert counts.shape == (50, 7) and (counts.sum(axis=1) == 7).all()
    # the interval is the 2.5th and 97.5th percentile of the resampled accuracies, drawn
    # from numpy's Generator with the seed (dialogues in sorted id order: d00 wrong, d01 right)
    draws = np.random.default_rng(0).integers(0, 20, size=(1000, 20))
    resampled = 100 * (draws % 2).mean(axis=1)
    assert (ev.ci_low, ev.ci_high) == pytest.approx(tuple(np.percentile(resampled, [2.5, 97.5])))


def _random_frame(n_dialogues: int = 40, seed: int = 0) -> pl.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for d in range(n_dialogues):
        hyps, refs, _ = _random_corpus(rnd, rnd.randint(2, 8))
        lang = "zh" if d % 2 else "en"
        for t, (h, r) in enumerate(zip(hyps, refs, strict=True)):
            gold = rnd.randint(1, 12)
            failed = rnd.random() < 0.05
            pred = None if failed else (gold if rnd.random() < 0.5 else rnd.randint(1, 12))
            rows.append((f"d{d:03d}", t, lang, gold, pred, r, None if failed else h,
                         "failed" if failed else "ok"))
    return frame(rows)


def test_compare_identical_runs_and_a_clearly_better_one():
    base = _random_frame()
    same = compare(base, base, resamples=300)
    assert set(same) == {"acc", "macro_f1", "bleu2", "bleu4", "rouge_l"}
    assert all(c.diff == 0 and not c.significant for c in same.values())
    better = base.with_columns(pred_strategy=pl.col("gold_strategy"), pred_text=pl.col("gold_text"),
                               parse_status=pl.lit("ok"))
    won = compare(better, base, resamples=300)
    assert all(c.significant and c.diff > 0 and c.ci_low > 0 for c in won.values())
    lost = compare(base, better, ["acc"], resamples=300)["acc"]
    assert lost.significant and lost.diff < 0 and lost.ci_high < 0


def test_compare_pairs_on_common_turns_only():
    a = _all_or_nothing()
    # b predicted only the odd dialogues' turns, all right; a is right there too: no difference
    b = a.filter(pl.col("dialogue_id").str.slice(1).cast(pl.Int64) % 2 == 1)
    c = compare(a, b, ["acc"], resamples=200)["acc"]
    assert c.diff == 0 and not c.significant
    none = compare(a, b.with_columns(dialogue_id=pl.lit("x") + pl.col("dialogue_id")), ["acc"],
                   resamples=10)
    assert math.isnan(none["acc"].diff) and not none["acc"].significant
    with pytest.raises(ValueError, match="bertscore"):
        compare(a, a, ["bertscore"])


def test_bertscore_is_not_computed_without_model_or_package(five, monkeypatch):
    bs = five.headline["bertscore"]
    assert bs.value is None and bs.status.startswith("not computed")
    assert bs.ci_low is None
    monkeypatch.setitem(sys.modules, "bert_score", None)  # import fails as if not installed
    with_model = evaluate(FIVE, resamples=0, bertscore_model="/models/none").headline["bertscore"]
    assert with_model.value is None and with_model.status.startswith("not computed")
    assert "not installed" in with_model.status


def test_empty_frame_is_not_computed_not_zero():
    ev = evaluate(FIVE.clear())
    assert list(ev.headline) == list(HEADLINE)
    for m in ev.headline.values():
        assert m.value is None and m.status == "not computed: no turns"
    assert ev.per_strategy == [] and len(ev.confusion) == 12


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.drop("parse_status"), "missing column 'parse_status'"),
    (lambda f: f.with_columns(pl.col("turn").cast(pl.Int32)), "column 'turn' is Int32"),
    (lambda f: f.with_columns(language=pl.lit("fr")), "column 'language'"),
    (lambda f: f.with_columns(gold_strategy=pl.lit(13, pl.Int64)), "column 'gold_strategy'"),
    (lambda f: f.with_columns(gold_text=pl.lit(None, pl.String)), "column 'gold_text'"),
    (lambda f: pl.concat([f, f.head(1)]), "appears twice"),
])
def test_validation_names_the_column(change, message):
    with pytest.raises(ValueError, match=message):
        evaluate(change(FIVE))
