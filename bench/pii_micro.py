"""Micro-benchmark of PII masking and text cleaning alone (not a test).

Builds N synthetic utterances (zh and en chat lines); a share of them (5% by default) carry a
number, an e-mail, a URL or a handle in one of the formats csc.pii knows, another 1% carry an
invisible character. Times `csc.pii.mask_frame` and `csc.textclean.clean_expr` over them.

    .venv/bin/python bench/pii_micro.py               # 200,000 utterances
    .venv/bin/python bench/pii_micro.py --n 1000000

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/pii_micro.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

from csc.pii import mask_frame  # noqa: E402
from csc.textclean import clean_expr  # noqa: E402

PLAIN = [
    ("zh", "你好，我上周买的耳机一直没有发货，订单显示还在处理中。"),
    ("zh", "理解您的心情，明天没有物流信息的话可以直接申请，我们会优先处理。"),
    ("en", "Hi, my card was blocked this morning and I cannot pay online."),
    ("en", "Thanks for waiting, I have escalated this to our payments team."),
]
PII = [
    ("zh", "我的手机号是{m}"), ("zh", "电话 +86 {m3} {m4a} {m4b}"), ("zh", "座机010-{d8}"),
    ("en", "call me on +44 7700 900{d3}"), ("en", "my number is (415) 555-0{d3}"),
    ("en", "ring 0345 000 {d4}"), ("en", "order 112-{d7}-{d7}"), ("en", "paid 1,{d3}.56"),
    ("zh", "邮箱 user{d4}@example.com"), ("en", "see https://shop.example.com/o/{d7}"),
    ("en", "thanks @agent_{d3}"), ("zh", "日期2024-03-15，金额￥{d4}"),
]
INVISIBLE = ["\u200b", "\x1b[31m", "\u202e", "\t"]


def _fill(rng: random.Random, template: str) -> str:
    m = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    return template.format(
        m=m, m3=m[:3], m4a=m[3:7], m4b=m[7:], d3=f"{rng.randrange(1000):03d}",
        d4=f"{rng.randrange(10**4):04d}", d7=f"{rng.randrange(10**7):07d}",
        d8=f"{rng.randrange(10**8):08d}")


def generate(n: int, share: float, seed: int = 7) -> pl.DataFrame:
    """n utterances, `share` of them with a PII-like number or address."""
    rng = random.Random(seed)
    langs, texts = [], []
    for _ in range(n):
        lang, text = rng.choice(PLAIN)
        if rng.random() < share:
            lang, template = rng.choice(PII)
            text = f"{text} {_fill(rng, template)}"
        elif rng.random() < 0.01:
            text = text[:5] + rng.choice(INVISIBLE) + text[5:]
        langs.append(lang)
        texts.append(text)
    return pl.DataFrame({"text": texts, "language": langs})


def _best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--share", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    df = generate(args.n, args.share)
    mask_s = _best(lambda: mask_frame(df), args.runs)
    clean_s = _best(lambda: df.select(clean_expr(pl.col("text"))), args.runs)
    masked = mask_frame(df)["pii_masked"].sum()
    print(f"{args.n:,} utterances ({args.share:.0%} with PII-like content): mask_frame "
          f"{mask_s:.3f} s, clean_expr {clean_s:.3f} s, {masked:,} spans masked")
    print(json.dumps({"utterances": args.n, "share": args.share,
                      "mask_utterances_per_s": round(args.n / mask_s),
                      "clean_utterances_per_s": round(args.n / clean_s),
                      "pii_masked": int(masked)}))


if __name__ == "__main__":
    main()
