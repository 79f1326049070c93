"""Benchmark of end-to-end ingest: parse, normalise, mask PII, pre-filter, validate, upsert.

Not a test. Builds a synthetic JSONL file of N utterances by scaling seed dialogues, then times
`csc.ingest.service.ingest_file` into a fresh DuckDB file, each run in a fresh interpreter so the
peak RSS is that of ingest alone (imports included, generation excluded):

1. first ingest (the measured figure: utterances/s and peak RSS),
2. the same file again (must be skipped as unchanged),
3. a forced re-ingest (`force=True`: everything is parsed again and found already present).

Seeds: the STC-3 DCH-1 Chinese training dialogues when ../shared/corpora is present (read at
bench time only: that corpus is non-commercial research data and is never copied into the
repo), otherwise a few invented zh/en dialogues defined below.

    .venv/bin/python bench/ingest.py                   # 1,000,000 utterances
    .venv/bin/python bench/ingest.py --quick           # 100,000 utterances
    .venv/bin/python bench/ingest.py --profile         # also print cProfile hotspots

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/ingest.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

STC3_SEED = REPO.parent / "shared" / "corpora" / "stc3-dch1" / "train_data_cn.json.gz"
DEFAULT_UTTERANCES = 1_000_000
QUICK_UTTERANCES = 100_000
TARGET_UTTERANCES_PER_S = 100_000
TARGET_PEAK_RSS_MB = 1500
PII_SHARE = 0.05

Seed = tuple[str, str, list[tuple[str, str]]]  # (id, source, [(speaker, text)])

# Invented dialogues (no real people, numbers or addresses) for machines without the corpus.
BUILTIN_SEEDS: list[Seed] = [
    ("zh-refund", "电商", [
        ("客户", "你好，我上周买的耳机一直没有发货，订单显示还在处理中。"),
        ("客服", "您好，非常抱歉给您带来不便，请问您的订单是在哪个店铺下的？"),
        ("客户", "就是你们官方旗舰店，付款已经五天了。"),
        ("客服", "已为您查询到订单，仓库今天会安排发出，发货后会短信通知您。"),
        ("客户", "如果明天还不发货我就申请退款了。"),
        ("客服", "理解您的心情，明天没有物流信息的话可以直接申请，我们会优先处理。"),
        ("客户", "好的，谢谢。"),
        ("客服", "不客气，祝您生活愉快！"),
    ]),
    ("zh-broadband", "电信", [
        ("客户", "家里宽带从昨天晚上开始就断断续续的，重启路由器也没用。"),
        ("客服", "您好，请问光猫上的指示灯是什么状态？"),
        ("客户", "LOS灯一直在闪红色。"),
        ("客服", "这说明光信号有问题，我帮您登记报修，师傅会在24小时内联系您。"),
        ("客户", "能不能今天就来？我明天要在家办公。"),
        ("客服", "我已经在工单里备注了加急，会尽量安排今天上门。"),
    ]),
    ("zh-account", "软件", [
        ("客户", "输入法的云同步一直失败，词库都丢了。"),
        ("客服", "您好，请问您使用的是哪个版本？"),
        ("客户", "最新版，昨天刚更新的。"),
        ("客户", "更新之后就不行了。"),
        ("客服", "新版本的同步服务器正在升级，预计今晚恢复，词库数据不会丢失。"),
        ("客户", "那我等晚上再试试。"),
    ]),
    ("en-billing", "telecom", [
        ("customer", "Hi, I was charged twice for my monthly plan this month."),
        ("agent", "Sorry to hear that. Could you tell me the date of both charges?"),
        ("customer", "Both on the 3rd, same amount."),
        ("agent", "I can see the duplicate payment. I've issued a refund for the second one."),
        ("customer", "How long will the refund take?"),
        ("agent", "It usually shows up within three to five business days."),
        ("customer", "Great, thanks for sorting it out so quickly."),
    ]),
    ("en-delivery", "retail", [
        ("customer", "My parcel says delivered but it isn't at my door."),
        ("agent", "I'm sorry about that. Have you checked with neighbours or the building office?"),
        ("customer", "Yes, nobody has it."),
        ("agent", "I've opened a trace with the courier and will send a replacement if it isn't "
                  "found within 48 hours."),
        ("customer", "OK, please keep me posted."),
        ("agent", "Will do. Is there anything else I can help with?"),
    ]),
]


# ---------------------------------------------------------------------------------------------
# Input generation (timed, not counted in the ingest figures)


def load_seeds(corpus: Path | None) -> tuple[list[Seed], str]:
    """Seed dialogues and a description of where they came from."""
    if corpus is not None and corpus.is_file():
        with gzip.open(corpus, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        roles = {"customer": "客户", "helpdesk": "客服"}
        seeds = [
            (str(d["id"]), "weibo", [(roles[t["sender"]], "\n".join(t["utterances"]))
                                     for t in d["turns"]])
            for d in data if d.get("turns")
        ]
        return seeds, f"{corpus.parent.name}/{corpus.name} ({len(seeds):,} dialogues)"
    return BUILTIN_SEEDS, f"built-in ({len(BUILTIN_SEEDS)} invented zh/en dialogues)"


def _copy_tag(copy: int) -> str:
    """A letters-only tag per copy: digits would look like PII candidates and skew masking."""
    letters = ""
    while True:
        copy, r = divmod(copy, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[r] + letters
        if copy == 0:
            return letters


def _pii(rng: random.Random, zh: bool) -> str:
    phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    email = f"user{rng.randrange(10**4)}@example.com"
    if rng.random() < 0.5:
        return f"，我的手机号是{phone}" if zh else f" - you can call me on {phone}"
    return f"，邮箱 {email}" if zh else f" - my email is {email}"


def generate(path: Path, seeds: list[Seed], n_utterances: int, seed: int = 7) -> dict:
    """Write seeds, copied until n_utterances turns, as JSONL(.gz); every copy has new content."""
    import orjson

    rng = random.Random(seed)
    opener = gzip.open if path.suffix == ".gz" else open
    dialogues = utterances = pii = 0
    copy = 0
    with opener(path, "wb") as fh:
        while utterances < n_utterances:
            for sid, source, turns in seeds:
                turns = turns[: n_utterances - utterances]
                if not turns:
                    break
                tag = _copy_tag(copy)
                zh = any("\u4e00" <= ch <= "\u9fff" for ch in turns[0][1][:40])
                out, tagged = [], False
                for speaker, text in turns:
                    if not tagged and text.strip():
                        text, tagged = f"{text} [{tag}]", True
                    if rng.random() < PII_SHARE:
                        text += _pii(rng, zh)
                        pii += 1
                    out.append({"speaker": speaker, "text": text})
                fh.write(orjson.dumps({"id": f"{sid}-{tag}", "source": source, "turns": out}))
                fh.write(b"\n")
                dialogues += 1
                utterances += len(out)
            copy += 1
    return {"dialogues": dialogues, "utterances": utterances, "with_pii": pii, "copies": copy}


# ---------------------------------------------------------------------------------------------
# One ingest run, in a fresh interpreter (`--child`)


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    kib = resource.getrusage(who).ru_maxrss  # KiB on Linux
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def _cpu_s() -> float:
    """CPU seconds of this process, every thread, plus its finished children (a large file's
    reader process): on a shared machine the wall time varies with other jobs, the CPU time
    much less."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def child(phase: str, file: Path, db: Path, profile: Path | None) -> None:
    t0 = time.perf_counter()
    from csc.ingest.service import ingest_file
    from csc.ingest.sources import load_source

    import_s = time.perf_counter() - t0
    cfg = load_source("jsonl")
    force = phase == "force"
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t1, cpu0 = time.perf_counter(), _cpu_s()
    summary = ingest_file(file, cfg, f"bench-{phase}", db=db, force=force)
    seconds, cpu_s = time.perf_counter() - t1, _cpu_s() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    # The reader process's peak is added to the ingest's: an upper bound of the two together,
    # since their peaks need not coincide.
    own, reader = _peak_rss_mb(), _peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(json.dumps({"phase": phase, "seconds": seconds, "cpu_s": cpu_s, "import_s": import_s,
                      "peak_rss_mb": own + reader, "ingest_peak_rss_mb": own,
                      "reader_peak_rss_mb": reader, "reconciles": summary.reconciles,
                      **summary.as_dict()}))


def run_child(phase: str, file: Path, db: Path, profile: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", phase, str(file), str(db)]
    if profile is not None:
        cmd += ["--profile-out", str(profile)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{phase} ingest failed (exit {done.returncode}):\n{done.stdout}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


# ---------------------------------------------------------------------------------------------
# Driver


def _check(ok: bool, what: str, problems: list[str]) -> None:
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
    if not ok:
        problems.append(what)


def warehouse_counts(db: Path) -> dict:
    from warehouse.db import connect, query

    with connect(db, read_only=True) as con:
        d, masked = query(
            con, "SELECT count(*), coalesce(sum(pii_masked), 0) FROM raw.dialogues")[0]
        (u,) = query(con, "SELECT count(*) FROM raw.utterances")[0]
        (p,) = query(con, "SELECT count(*) FROM staging.prefilter")[0]
        (q,) = query(con, "SELECT count(*) FROM raw.quarantine")[0]
    return {"dialogues": d, "utterances": u, "prefilter": p, "quarantine": q, "pii_masked": masked}


def print_profile(stats_file: Path, top: int) -> None:
    import pstats

    for key in ("tottime", "cumulative"):
        print(f"\n--- cProfile of the first ingest, top {top} by {key} ---")
        pstats.Stats(str(stats_file)).strip_dirs().sort_stats(key).print_stats(top)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--utterances", type=int, default=None,
                    help=f"input utterances (default {DEFAULT_UTTERANCES:,})")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_UTTERANCES:,} utterances")
    ap.add_argument("--gzip", action="store_true", help="write the input as .jsonl.gz")
    ap.add_argument("--builtin-seeds", action="store_true",
                    help="use the invented seeds even when ../shared/corpora is present")
    ap.add_argument("--out", type=Path, default=None,
                    help="keep input and warehouse in this folder (e.g. bench/out); "
                         "default: a temporary folder, deleted afterwards")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the first ingest (slower) and print the hotspots")
    ap.add_argument("--child", nargs=3, metavar=("PHASE", "FILE", "DB"), help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        phase, file, db = args.child
        child(phase, Path(file), Path(db), args.profile_out)
        return 0

    n = args.utterances or (QUICK_UTTERANCES if args.quick else DEFAULT_UTTERANCES)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        tmp = None
        workdir = args.out
    else:
        tmp = tempfile.TemporaryDirectory(prefix="csc-bench-ingest-")
        workdir = Path(tmp.name)
    try:
        return _bench(args, n, workdir)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _bench(args: argparse.Namespace, n: int, workdir: Path) -> int:
    cores = _cores()
    print(f"ingest bench: {n:,} utterances, {cores} cores, work dir {workdir}")
    seeds, seed_desc = load_seeds(None if args.builtin_seeds else STC3_SEED)
    print(f"seeds: {seed_desc}")

    file = workdir / f"bench_{n}.jsonl{'.gz' if args.gzip else ''}"
    db = workdir / f"bench_{n}.duckdb"
    for stale in (db, db.with_name(db.name + ".wal"), db.with_name(db.name + ".lock")):
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    gen = generate(file, seeds, n)
    gen_s = time.perf_counter() - t0
    size_mb = file.stat().st_size / 2**20
    print(f"generated {gen['dialogues']:,} dialogues / {gen['utterances']:,} utterances "
          f"({gen['with_pii']:,} with PII, {gen['copies']} copies of the seeds), "
          f"{size_mb:,.1f} MiB in {gen_s:.1f}s (not counted)")

    profile = workdir / "ingest.prof" if args.profile else None
    print("1/3 first ingest into a fresh DuckDB file ...", flush=True)
    first = run_child("first", file, db, profile)
    rate = gen["utterances"] / first["seconds"]
    print(f"    {first['seconds']:.2f}s ingest ({first['import_s']:.2f}s imports, "
          f"{first['process_s']:.2f}s process, {first['cpu_s']:.2f} CPU-s): {rate:,.0f} "
          "utterances/s, "
          f"peak RSS {first['peak_rss_mb']:,.0f} MB ({first['ingest_peak_rss_mb']:,.0f} MB "
          f"ingest + {first['reader_peak_rss_mb']:,.0f} MB reader process); "
          f"{first['records']:,} records -> "
          f"{first['new']:,} new, {first['already_present']:,} already present, "
          f"{first['quarantined']:,} quarantined, {first['utterances']:,} merged utterances")
    print("2/3 same file again (should be skipped as unchanged) ...", flush=True)
    rerun = run_child("rerun", file, db)
    print(f"    {rerun['seconds']:.3f}s, skipped_unchanged={rerun['skipped_unchanged']}")
    print("3/3 forced re-ingest (force=True) ...", flush=True)
    forced = run_child("force", file, db)
    print(f"    {forced['seconds']:.2f}s ({gen['utterances'] / forced['seconds']:,.0f} "
          f"utterances/s), peak RSS {forced['peak_rss_mb']:,.0f} MB; {forced['new']:,} new, "
          f"{forced['already_present']:,} already present, {forced['quarantined']:,} quarantined")

    counts = warehouse_counts(db)
    print(f"warehouse: {counts['dialogues']:,} dialogues, {counts['utterances']:,} utterances, "
          f"{counts['prefilter']:,} pre-filter verdicts, {counts['quarantine']:,} quarantine rows, "
          f"{counts['pii_masked']:,} PII spans masked")

    print("sanity checks:")
    problems: list[str] = []
    _check(first["reconciles"], "first ingest reconciles (records = new + present + quarantined)",
           problems)
    _check(first["records"] == gen["dialogues"], "first ingest read every generated dialogue",
           problems)
    _check(first["new"] > 0.99 * gen["dialogues"], "first ingest stored >99% as new dialogues",
           problems)
    _check(counts["dialogues"] == first["new"], "raw.dialogues holds exactly the new dialogues",
           problems)
    _check(counts["utterances"] == first["utterances"], "raw.utterances matches the summary",
           problems)
    _check(counts["pii_masked"] > 0, "PII was masked", problems)
    _check(rerun["skipped_unchanged"] and rerun["new"] == 0,
           "second run skipped as unchanged, 0 new rows", problems)
    _check(forced["reconciles"] and forced["new"] == 0,
           "forced re-ingest reconciles and adds 0 new rows", problems)
    _check(forced["already_present"] == first["new"] + first["already_present"],
           "forced re-ingest finds every stored dialogue already present", problems)

    meets = rate >= TARGET_UTTERANCES_PER_S and first["peak_rss_mb"] < TARGET_PEAK_RSS_MB
    print(f"targets: >= {TARGET_UTTERANCES_PER_S:,} utterances/s "
          f"[{'met' if rate >= TARGET_UTTERANCES_PER_S else 'NOT met'}], peak RSS < "
          f"{TARGET_PEAK_RSS_MB:,} MB "
          f"[{'met' if first['peak_rss_mb'] < TARGET_PEAK_RSS_MB else 'NOT met'}]")
    if profile is not None:
        print_profile(profile, 30)
        print("(the profiled run is slower than an unprofiled one)")

    print(json.dumps({
        "bench": "ingest",
        "utterances": gen["utterances"],
        "dialogues": gen["dialogues"],
        "input_mb": round(size_mb, 1),
        "seeds": seed_desc,
        "generate_s": round(gen_s, 2),
        "seconds": round(first["seconds"], 2),
        "cpu_s": round(first["cpu_s"], 2),
        "utterances_per_s": round(rate),
        "peak_rss_mb": round(first["peak_rss_mb"]),
        "ingest_peak_rss_mb": round(first["ingest_peak_rss_mb"]),
        "reader_peak_rss_mb": round(first["reader_peak_rss_mb"]),
        "import_s": round(first["import_s"], 2),
        "rerun_skip_s": round(rerun["seconds"], 3),
        "force_reingest_s": round(forced["seconds"], 2),
        "force_cpu_s": round(forced["cpu_s"], 2),
        "force_peak_rss_mb": round(forced["peak_rss_mb"]),
        "new": first["new"],
        "quarantined": first["quarantined"],
        "sanity_ok": not problems,
        "profiled": args.profile,
        "target_utterances_per_s": TARGET_UTTERANCES_PER_S,
        "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
        "meets_targets": meets,
        "machine": f"{cores} cores",
    }, ensure_ascii=False))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
