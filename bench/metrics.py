"""Benchmark of csc.eval.metrics.evaluate at CSConv scale: 25,000 turns, 1,000 resamples.

Not a test. Builds a synthetic prediction frame (about 1,900 dialogues of zh and en turns,
replies of 10-60 characters or words drawn from a Zipf-like vocabulary, predicted replies that
share part of the reference, ~40% strategy accuracy, ~2% parse failures), then times one
`evaluate` call (imports and generation excluded) with its per-part breakdown.

    .venv/bin/python bench/metrics.py                 # 25,000 turns, 1,000 resamples
    .venv/bin/python bench/metrics.py --turns 5000 --resamples 200

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/metrics.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from csc.eval.metrics import evaluate  # noqa: E402
from csc.eval.types import PREDICTION_SCHEMA  # noqa: E402

TARGET_S = 20.0
ZH_SHARE = 0.6
ACCURACY = 0.4
FAILURE_RATE = 0.02


def _vocabularies(rng: np.random.Generator) -> dict[str, tuple[list[str], np.ndarray]]:
    """zh: 2,500 common-range CJK characters plus punctuation; en: 6,000 invented words.
    Both drawn with Zipf-like weights, as real text is."""
    zh = [chr(0x4E00 + int(i)) for i in rng.choice(20_000, 2_500, replace=False)]
    zh += list("，。？！、")
    letters = list(string.ascii_lowercase)
    en = sorted({"".join(rng.choice(letters, int(rng.integers(1, 9)))) for _ in range(6_500)})
    en = en[:6_000]
    out = {}
    for lang, vocab in (("zh", zh), ("en", en)):
        weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
        out[lang] = (vocab, weights / weights.sum())
    return out


def synthetic_frame(n_turns: int, seed: int = 0) -> pl.DataFrame:
    """A prediction frame of about `n_turns` turns in dialogues of 6-20 supporter turns."""
    rng = np.random.default_rng(seed)
    # one long Zipf-weighted stream of tokens per language, cut into replies (fast to draw)
    streams = {lang: iter(rng.choice(vocab, size=n_turns * 120, p=weights).tolist())
               for lang, (vocab, weights) in _vocabularies(rng).items()}

    def take(lang: str, k: int) -> list[str]:
        return [next(streams[lang]) for _ in range(k)]

    rows: dict[str, list] = {name: [] for name in PREDICTION_SCHEMA}
    dialogue = 0
    while len(rows["turn"]) < n_turns:
        dialogue += 1
        lang = "zh" if rng.random() < ZH_SHARE else "en"
        joiner = "" if lang == "zh" else " "
        for k in range(int(rng.integers(6, 21))):
            if len(rows["turn"]) >= n_turns:
                break
            gold_tokens = take(lang, int(rng.integers(10, 61)))
            # the reply keeps a random run of the reference and fills the rest with new tokens
            keep = int(rng.integers(0, len(gold_tokens) + 1))
            start = int(rng.integers(0, len(gold_tokens) - keep + 1))
            fresh = take(lang, int(rng.integers(5, 40)))
            cut = int(rng.integers(0, len(fresh) + 1))
            pred_tokens = fresh[:cut] + gold_tokens[start:start + keep] + fresh[cut:]
            gold = int(rng.integers(1, 13))
            failed = rng.random() < FAILURE_RATE
            if failed:
                pred = None
            elif rng.random() < ACCURACY:
                pred = gold
            else:
                pred = int(rng.choice([s for s in range(1, 13) if s != gold]))
            for name, value in (
                ("dialogue_id", f"bench-{dialogue:05d}"), ("turn", 2 * k + 1),
                ("language", lang), ("gold_strategy", gold), ("pred_strategy", pred),
                ("gold_text", joiner.join(gold_tokens)),
                ("pred_text", None if failed else joiner.join(pred_tokens)),
                ("parse_status", "failed" if failed else "ok"),
            ):
                rows[name].append(value)
    return pl.DataFrame(rows, schema=PREDICTION_SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=25_000)
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    frame = synthetic_frame(args.turns, args.seed)
    generated = time.perf_counter() - t0
    dialogues = frame["dialogue_id"].n_unique()
    print(f"generated {frame.height:,} turns in {dialogues:,} dialogues "
          f"({(frame['language'] == 'zh').mean():.0%} zh) in {generated:.1f} s (not counted)")

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    result = evaluate(frame, resamples=args.resamples, seed=args.seed, timings=timings)
    seconds = time.perf_counter() - t0
    for name, metric in result.headline.items():
        shown = "-" if metric.value is None else f"{metric.value:.2f}"
        interval = ("  (no interval)" if metric.ci_low is None
                    else f"  [{metric.ci_low:.2f}, {metric.ci_high:.2f}]")
        print(f"  {name:15s} {shown:>8s}{interval}  {metric.status}")
    for part, spent in timings.items():
        print(f"  time {part:24s} {spent:6.2f} s")
    met = seconds < TARGET_S
    print(f"evaluate: {seconds:.2f} s for {frame.height:,} turns and {args.resamples:,} "
          f"resamples (target < {TARGET_S:.0f} s: {'met' if met else 'NOT met'})")
    print(json.dumps({
        "bench": "metrics", "turns": frame.height, "dialogues": dialogues,
        "resamples": args.resamples, "seconds": round(seconds, 2), "target_s": TARGET_S,
        "met": met, "parts_s": {k: round(v, 3) for k, v in timings.items()},
    }))


if __name__ == "__main__":
    main()
