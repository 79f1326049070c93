"""`csc`: the command line. Checks what the user asked for before any flow starts, so a mistake
gets one clear line and exit code 2, never a traceback.

Exit codes: 0 ok; 1 the run finished but nothing could be ingested (or a stage failed), or
a runtime failure (a corrupt or full file, a busy warehouse, another run in progress: one
line naming the file and what to do; the traceback goes to the Prefect run log, not the
terminal); 2 a usage or input mistake, a setting missing or malformed included (every CSC_*
value is checked before any command runs, csc.settings). Commands that only read (status,
sources, export) open the warehouse directly and never start a Prefect server.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
EXIT_FAILED = 1  # a runtime failure: retrying now will not help
EXIT_BROKEN_PIPE = 141  # what a Unix tool killed by SIGPIPE reports: `csc status | head`
DESCRIPTION = ("Turn customer-support conversations into CSC evaluation and training data: "
               "ingest dialogue files into a DuckDB warehouse, build the CSConv set with an "
               "LLM, and export it.")
EPILOG = ("Settings come from the environment (or .env): CSC_WAREHOUSE, CSC_DROP_FOLDER, "
          "CSC_OUT, CSC_LLM_*; all are listed in csc/settings.py and csc/llm/settings.py, and "
          "every value is checked before a command runs. See README.md.")
STARTUP_TIMEOUT_S = "90"  # Prefect's default (20 s) is too short on a loaded 2-core machine


def _note(message: str) -> None:
    print(f"csc: {message}", file=sys.stderr, flush=True)


def _fail(message: str) -> int:
    print(f"csc: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _prepare_run(stages: tuple[str, ...] = ()) -> None:
    """Check what a flow needs before starting it, so a mistake is one clear line, not a
    failed flow run with a traceback; then name the warehouse the run writes to."""
    from warehouse.db import ensure_writable

    path = ensure_writable()
    if stages:
        from csc.llm.settings import load_settings
        from csc.prompts import check_templates, stage_roles

        load_settings(stages=stages)
        check_templates(stage_roles(stages))  # every prompt file, zh and en: all missing ones
    _note(f"warehouse {path.resolve()}")
    _quiet_prefect()


def _quiet_prefect() -> None:
    """Defaults for a machine with no network: no telemetry, and time for the temporary
    server to come up on a loaded machine. A set PREFECT_API_URL is used as it is."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT_S)


def _launch(flow: Callable[..., Any], **params: Any) -> Any:
    """Run a flow from the terminal: a temporary Prefect server started for it dies with this
    process even when it is killed (csc.prefect_server), and a failure the flow turns into one
    line shows no traceback here."""
    from prefect.settings import get_current_settings

    from tasks.console import quiet_user_error_tracebacks

    if not get_current_settings().api.url:  # Prefect will start its temporary server
        from csc.prefect_server import tie_to_this_process

        tie_to_this_process()
    quiet_user_error_tracebacks()
    return flow(**params)


def _drop_folder(explicit: str | None) -> str:
    from csc.paths import drop_folder

    return str(drop_folder(explicit))


def _why_nothing(report: dict) -> str:
    """One line on why an ingest added nothing: empty files, or what the quarantine says."""
    files = report["files"]
    if not report["totals"]["records"]:
        names = ", ".join(Path(f["path"]).name for f in files[:3])
        return f"nothing ingested: {names}{' ...' if len(files) > 3 else ''} held no records"
    # Files refused whole (empty, not UTF-8, unreadable) already carry a one-line reason.
    whole = [f for f in files if f.get("error") and f["records"] == f["quarantined"] == 1]
    if whole and len(whole) == len(files):
        more = f" (and {len(whole) - 1} other file(s))" if len(whole) > 1 else ""
        return f"nothing ingested: {whole[0]['error']}{more}"
    from warehouse.db import connect, query

    with connect(read_only=True) as con:
        rows = query(con, 'SELECT "check", count(*), any_value(reason) FROM raw.quarantine '
                          'WHERE run_id = ? GROUP BY ALL ORDER BY 2 DESC',
                     [report.get("run_id", "")])
    quarantined = report["totals"]["quarantined"]
    if not rows:
        return f"nothing ingested: {quarantined} record(s) quarantined; see raw.quarantine"
    check, n, reason = rows[0]
    more = f" (and {len(rows) - 1} other check(s))" if len(rows) > 1 else ""
    return (f"nothing ingested: {quarantined} record(s) quarantined, {n} of them as {check}: "
            f"{reason}{more}; see raw.quarantine")


def _cmd_ingest(args: argparse.Namespace) -> int:
    from csc.ingest.report import render_text
    from csc.ingest.service import discover, resolve_source

    path = Path(args.path)
    files = discover(path)  # raises IngestError with a clear message
    for f in files:
        resolve_source(f, args.source)  # a bad --source fails here, before any work
    _prepare_run()
    from flows.ingest import ingest

    report = _launch(ingest, path=str(path), source=args.source, force=args.force,
                     mask_pii=not args.no_mask_pii)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else render_text(report))
    if report["ingested_anything"]:
        return EXIT_OK
    _note(_why_nothing(report))
    return EXIT_NOTHING


def _nothing_pending(limit: int | None) -> bool:
    """Whether a csconv run would find no work: checked before any Prefect server starts."""
    from csc.csconv.plan import anything_pending

    return not anything_pending(limit)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.stage == "csconv":
        _prepare_run(("csconv",))
        if not args.refresh and _nothing_pending(args.limit):
            print("csconv: nothing pending: every rule-passed dialogue has an outcome under the "
                  "current prompts and models, and every kept one is annotated")
            return EXIT_OK
        from flows.csconv import csconv

        result = _launch(csconv, limit=args.limit, refresh=args.refresh)
    elif args.stage == "rolecs":
        if args.personas and not Path(args.personas).is_file():
            return _fail(f"--personas {args.personas}: no such file")
        _prepare_run(("rolecs",))
        from flows.rolecs import rolecs

        result = _launch(rolecs, per_language=args.limit or 10, batch=args.batch,
                         personas=args.personas, refresh=args.refresh)
    elif args.stage == "evaluate":
        _prepare_run()
        from flows.evaluate import evaluate

        result = _launch(evaluate, limit=args.limit)
    elif args.stage == "quality":
        _prepare_run()
        from flows.quality import quality

        result = _launch(quality)
    elif args.stage == "nightly":
        drop = _drop_folder(args.drop)
        _prepare_run(("csconv", "rolecs", "evaluate"))
        from flows.nightly import nightly

        result = _launch(nightly, drop_folder=drop)
    else:
        drop = _drop_folder(args.drop)
        _prepare_run()
        from flows.ingest import ingest

        result = {"ingest": _launch(ingest, path=drop)["totals"]}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return EXIT_OK


def _cmd_demo(_: argparse.Namespace) -> int:
    """The whole nightly DAG on the bundled samples, offline, against the simulator."""
    from csc.paths import SAMPLES

    os.environ["CSC_LLM_BASE_URL"] = "simulator"  # the demo chooses it explicitly
    _prepare_run(("csconv", "rolecs", "evaluate"))
    from flows.nightly import nightly
    from warehouse.db import output_dir, warehouse_path

    # the samples accept a handful of RoleCS dialogues, far under the export threshold: the
    # demo forces the export (the same set is still exported and trained once)
    result = _launch(nightly, drop_folder=str(SAMPLES), finetune_force=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwarehouse: {warehouse_path()}  (open it with duckdb; see docs/analysts.md)")
    print(f"funnel:    {result['csconv']['report']}")
    made = result["rolecs"]
    print(f"rolecs:    {made['input']} dialogues simulated, {made['accepted']} accepted (judged "
          "5/5, not a near-duplicate: marts.rolecs_accepted)")
    job = result["finetune"]["job"]
    print(f"finetune:  export {result['finetune']['export_id'] or '-'} "
          f"({result['finetune']['decision']}); job: "
          + (job.get("skipped") or f"{job['status']} -> {job['fine_tuned_model'] or job['error']}"))
    print(f"snapshot:  {result['publish']['snapshot']}  (read-only copy for analysts)")
    print(f"quality:   {result['publish']['data_docs']}  (Great Expectations Data Docs)")
    _print_leaderboard()
    print(f"report:    {result['evaluate']['report']}  (opens offline in a browser)")
    print(f"export:    .venv/bin/csc export csconv --format jsonl   "
          f"(writes {output_dir() / 'exports'})")
    print("The LLM answers above came from the offline simulator, not from a model.")
    return EXIT_OK


def _print_leaderboard() -> None:
    """The leaderboard as the demo ends (marts.leaderboard; simulator rows say what they are)."""
    from warehouse.db import connect, query_dicts

    with connect(read_only=True) as con:
        rows = query_dicts(con, "SELECT setting, rank, model, kind, n_turns, acc, acc_ci_low, "
                                "acc_ci_high, macro_f1, bleu2, rouge_l, base_model "
                                "FROM marts.leaderboard")
    print("leaderboard (marts.leaderboard; x100, 95% bootstrap interval by dialogue):")
    width = max((len(r["model"]) for r in rows), default=16)
    for r in rows:
        note = "  <- simulator, not a model's result" if r["kind"] == "simulator" else ""
        if r["base_model"]:
            note += f"  <- fine-tuned from {r['base_model']}"
        ci = (f" [{r['acc_ci_low']:.1f}-{r['acc_ci_high']:.1f}]"
              if r["acc_ci_low"] is not None else "")
        def num(v):
            return "-" if v is None else f"{v:.1f}"
        print(f"  {r['setting']:<9} {r['rank']}. {r['model']:<{width}} ACC {num(r['acc'])}{ci}  "
              f"F1 {num(r['macro_f1'])}  B-2 {num(r['bleu2'])}  R-L {num(r['rouge_l'])}  "
              f"({r['n_turns']} turns){note}")


def _cmd_report(_: argparse.Namespace) -> int:
    """The evaluation report again, from the warehouse: nothing is predicted or computed."""
    from csc.eval.service import write_eval_report

    path, _ = write_eval_report()
    print(f"evaluation report: {path}  (one HTML file; opens offline)")
    return EXIT_OK


def _cmd_init(_: argparse.Namespace) -> int:
    from warehouse.db import connect, ensure_writable, query

    path = ensure_writable(create=True)
    existed = path.exists()
    with connect(path) as con:
        version = query(con, "SELECT max(version) FROM ops.schema_migrations")[0][0]
    print(f"{'warehouse up to date' if existed else 'created warehouse'}: {path.resolve()} "
          f"(schema version {version})")
    return EXIT_OK


def _export_rolecs(args: argparse.Namespace) -> int:
    """The accepted RoleCS dialogues in the released shape, their topic as the source."""
    from csc.csconv.export import released_shape, shape_lineage, write_export
    from warehouse import rolecs_store as store
    from warehouse.db import connect, output_dir

    if args.source_map:
        return _fail("--source-map maps CSConv business areas; RoleCS dialogues carry "
                     "their topic as the source")
    out = Path(args.out) if args.out else output_dir() / "exports" / f"rolecs.{args.format}"
    with connect(read_only=True) as con:
        utterances = store.export_frame(con, args.language)
        lineage = store.export_lineage(con, args.language)
    records = released_shape(utterances, args.labels, key="dialogue_id", source="topic")
    lineage |= shape_lineage(utterances, records, args.labels, None)
    write_export(records, out, args.format, lineage, dataset="rolecs")
    print(f"wrote {len(records)} dialogues to {out} (lineage in {out.name}.meta.json)")
    if lineage["simulator"]:
        from csc.llm.endpoint import BANNER

        print(BANNER.replace("in this run", "in this export"), file=sys.stderr)
    return EXIT_OK if records else EXIT_NOTHING


SFT_FORMATS = ("openai", "sharegpt", "instruction", "all")
FILE_FORMATS = ("json", "jsonl", "parquet")


def _export_sft(args: argparse.Namespace) -> int:
    """Run the fine-tune trigger (docs/finetune.md): write an SFT export of the accepted
    RoleCS set when enough new dialogues came (or --force), and say what was decided."""
    fmt = args.format or "all"
    if fmt not in SFT_FORMATS:
        return _fail(f"--format {fmt} is for csconv and rolecs; sft takes "
                     f"{', '.join(SFT_FORMATS)}")
    given = [flag for flag, value in (("--language", args.language), ("--out", args.out),
                                      ("--source-map", args.source_map),
                                      ("--labels", None if args.labels == "auto" else 1))
             if value]
    if given:
        return _fail(f"{', '.join(given)}: not for sft; an SFT export holds every "
                     "accepted RoleCS dialogue and goes to <output dir>/finetune/<export_id>/ "
                     "(set CSC_OUT to move it)")
    from csc.finetune.formats import FORMATS
    from csc.finetune.service import run_trigger

    outcome = run_trigger(force=args.force, formats=FORMATS if fmt == "all" else (fmt,))
    decision = outcome.decision
    print(f"{decision.decision}: {decision.reason}")
    if outcome.export is not None:
        e = outcome.export
        print(f"export {e.export_id}: {e.count('train')} train and {e.count('validation')} "
              f"validation dialogues, {e.count('dropped')} dropped, {e.n_truncated} truncated; "
              + ", ".join(f"{f} {n} examples (~{e.tokens[f]} tokens)"
                          for f, n in e.examples.items()))
    if outcome.path is not None:
        print(f"files: {outcome.path}")
    return EXIT_NOTHING if decision.decision == "wait" else EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    if args.dataset == "sft":
        return _export_sft(args)
    if args.force:
        return _fail("--force applies to sft only")
    if args.format is None:
        args.format = "jsonl"
    elif args.format not in FILE_FORMATS:
        return _fail(f"--format {args.format} is for sft; {args.dataset} takes "
                     f"{', '.join(FILE_FORMATS)}")
    if args.dataset == "rolecs":
        return _export_rolecs(args)
    from csc.csconv.export import released_shape, shape_lineage, write_export
    from csc.csconv.postfilter import PostfilterConfig
    from csc.csconv.source_map import resolve_source_map
    from csc.quality.checkpoint import CheckResult
    from csc.quality.verdict import fingerprint
    from warehouse import csconv_store as store
    from warehouse.db import connect, output_dir

    source_map = resolve_source_map(args.source_map)  # before the warehouse is opened
    out = Path(args.out) if args.out else output_dir() / "exports" / f"csconv.{args.format}"
    cfg = PostfilterConfig.from_env()
    with connect(read_only=True) as con:
        verdict = store.quality_verdict(con, fingerprint(store.published_digest(con), cfg))
        frames = None if verdict else store.published_frames(con)
        utterances = store.export_frame(con, args.language)
        lineage = store.export_lineage(con, args.language)
    records = released_shape(utterances, args.labels, source_map)
    lineage |= shape_lineage(utterances, records, args.labels, source_map)
    if verdict:  # the latest checkpoint validated exactly this set with these suites
        checks = CheckResult(all(r["success"] for r in verdict), verdict)
    else:
        from csc.quality.published import check_csconv  # imports Great Expectations

        checks = check_csconv(*frames, cfg)
    if not checks.success:
        print(f"csc: error: the CSConv set fails its quality checks, nothing exported: "
              f"{checks.describe_failures()}", file=sys.stderr)
        return EXIT_NOTHING
    write_export(records, out, args.format, lineage)
    print(f"wrote {len(records)} dialogues to {out} (lineage in {out.name}.meta.json)")
    unmapped = lineage["source_map"]["unmapped"] if source_map else {}
    if unmapped:
        listed = ", ".join(f"{a or '(none)'} ({n})" for a, n in unmapped.items())
        _note(f"{sum(unmapped.values())} dialogue(s) exported with source 'other': the source "
              f"map names no class for {listed}")
    if lineage["simulator"]:
        from csc.llm.endpoint import BANNER

        print(BANNER.replace("in this run", "in this export"), file=sys.stderr)
    return EXIT_OK if records else EXIT_NOTHING


def _cmd_sources(_: argparse.Namespace) -> int:
    from csc.ingest.sources import builtin_names, load_source

    names = builtin_names()
    width = max(map(len, names), default=0)
    for name in names:
        cfg = load_source(name)
        print(f"{name:<{width}}  {cfg.format:<6} {cfg.description}")
    return EXIT_OK


def _cmd_status(_: argparse.Namespace) -> int:
    from warehouse.db import connect, query, warehouse_path

    tables = ("raw.dialogues", "raw.utterances", "raw.quarantine", "staging.prefilter",
              "marts.csconv_current", "csconv.rejects", "csconv.annotations", "ops.llm_calls",
              "ops.llm_dead_letter", "ops.runs")
    print(f"warehouse: {warehouse_path()}")
    with connect(read_only=True) as con:
        for table in tables:
            print(f"{table:<20} {query(con, f'SELECT count(*) FROM {table}')[0][0]:>10}")
        runs = query(con, "SELECT status, count(*) FROM ops.runs GROUP BY ALL ORDER BY 1")
    print("runs: " + (", ".join(f"{n} {status}" for status, n in runs) or "none"))
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("csc-workflow")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse that suggests the closest subcommand for a mistyped one."""

    def error(self, message: str):  # type: ignore[override]
        wrong = re.search(r"invalid choice: '([^']*)'", message)
        if wrong and self._subparsers is not None:
            choices = [c for a in self._subparsers._group_actions for c in (a.choices or ())]
            near = difflib.get_close_matches(wrong.group(1), choices, n=1)
            if near:
                message += f"; did you mean '{near[0]}'?"
        super().error(message)


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--warehouse", metavar="FILE", default=argparse.SUPPRESS,
                        help="the DuckDB warehouse file (default: $CSC_WAREHOUSE, else "
                             "warehouse/csc.duckdb in the project)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="csc", description=DESCRIPTION, epilog=EPILOG, parents=[common])
    parser.add_argument("--version", action="version", version=f"csc {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".",
                              parents=[common])

    p = command("ingest", "ingest a dialogue file or a folder of them")
    p.add_argument("path", help="a file, or a folder searched recursively for .json, .jsonl, "
                                ".csv, .tsv and .txt files (each optionally .gz)")
    p.add_argument("--source", metavar="NAME|CONFIG.yaml",
                   help="built-in source name (see `csc sources`) or a YAML source config "
                        "(default: chosen by each file's extension)")
    p.add_argument("--force", action="store_true",
                   help="re-read files already ingested unchanged (still adds no duplicates)")
    p.add_argument("--no-mask-pii", action="store_true",
                   help="keep phone numbers, e-mails, ID and card numbers as they are "
                        "(default: masked before anything is stored)")
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON (default: a table)")
    p.set_defaults(func=_cmd_ingest)

    p = command("run", "run a flow directly, with a temporary Prefect server "
                       "(or $PREFECT_API_URL's)")
    p.add_argument("stage", choices=["nightly", "ingest", "csconv", "rolecs", "evaluate",
                                     "quality"],
                   help="nightly: the whole DAG; ingest, csconv, rolecs or evaluate: one stage; "
                        "quality: the data-quality gate over the published tables")
    p.add_argument("--drop", metavar="FOLDER",
                   help="nightly and ingest: the drop folder of raw dialogue files (default: "
                        "$CSC_DROP_FOLDER; the bundled samples are samples/raw)")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="csconv: at most N dialogues per language (default: all pending); "
                        "rolecs: N new dialogues per language for the batch (default 10)")
    p.add_argument("--batch", metavar="NAME",
                   help="rolecs: the batch (default: today's UTC date); a batch's scenarios "
                        "are drawn once, so rerunning it only finishes them")
    p.add_argument("--personas", metavar="FILE",
                   help="rolecs: a JSON-lines file of persona profiles (default: the bundled "
                        "samples/personas/personas.jsonl)")
    p.add_argument("--refresh", action="store_true",
                   help="csconv, rolecs: ask the LLM again instead of using cached answers")
    p.set_defaults(func=_cmd_run)

    p = command("report", "write the evaluation report (out/reports/eval.html) from the "
                          "warehouse")
    p.set_defaults(func=_cmd_report)

    p = command("demo", "run the nightly DAG offline on the bundled samples, against the "
                        "simulator")
    p.set_defaults(func=_cmd_demo)

    p = command("init", "create a new, empty warehouse (and its folder) at --warehouse or "
                        "$CSC_WAREHOUSE, or bring an existing one's schema up to date")
    p.set_defaults(func=_cmd_init)

    # `csc simulator ...` is handed to the simulator's own parser in main()
    sub.add_parser("simulator", add_help=False,
                   help="serve the offline OpenAI-compatible simulator (--port P, "
                        "--latency-ms, --fault-rate; see `csc simulator --help`)")

    p = command("export", "export a dataset in its released shape, or (sft) the accepted "
                          "RoleCS set as fine-tuning files when enough new dialogues came")
    p.add_argument("dataset", choices=["csconv", "rolecs", "sft"],
                   help="the dataset to export (rolecs: the accepted dialogues; sft: the "
                        "fine-tune trigger: exit 0 when an export was written or already "
                        "exists, 1 when it waits for more dialogues)")
    p.add_argument("--format", choices=["json", "jsonl", "parquet", *SFT_FORMATS],
                   help="file format (default: jsonl); sft: openai, sharegpt, instruction or "
                        "all (default: all)")
    p.add_argument("--force", action="store_true",
                   help="sft: export even below CSC_FINETUNE_MIN_NEW_DIALOGUES new dialogues "
                        "(the same content is still never exported twice)")
    p.add_argument("--language", choices=["zh", "en"],
                   help="only this language (default: both)")
    p.add_argument("--labels", choices=["auto", "zh", "en"], default="auto",
                   help="speaker and strategy spelling: zh the released 客服/客户 and "
                        "'策略N 名称', en agent/customer and 'Strategy N Name' (default: auto, "
                        "each dialogue in its own language)")
    p.add_argument("--source-map", metavar="MAP.yaml",
                   help="YAML file mapping business areas to the 8 released source classes "
                        "(default: $CSC_SOURCE_MAP, else none: the raw business area; sample "
                        "in samples/source_map.yaml)")
    p.add_argument("--out", metavar="FILE",
                   help="output file (default: <output dir>/exports/<dataset>.<format>, the "
                        "output dir being $CSC_OUT or out/ beside the warehouse)")
    p.set_defaults(func=_cmd_export)

    from cli.finetune import add_parser as add_finetune
    from cli.query import add_parser as add_query

    add_finetune(command)
    add_query(command)

    p = command("sources", "list the built-in source configs")
    p.set_defaults(func=_cmd_sources)

    p = command("status", "row counts of the main warehouse tables")
    p.set_defaults(func=_cmd_status)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Unknown options are reported by the subcommand they were given to, with its usage and
    the closest option it does take."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub = next(a for a in parser._subparsers._group_actions).choices[args.command]
        known = [o for a in sub._actions for o in a.option_strings]
        near = difflib.get_close_matches(extras[0].split("=", 1)[0], known, n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        sub.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    return args


def _main(argv: list[str]) -> int:
    if argv[:1] == ["simulator"]:
        from simulator.__main__ import main as simulator_main

        return simulator_main(argv[1:])
    args = _parse(build_parser(), argv)
    if getattr(args, "warehouse", None):
        os.environ["CSC_WAREHOUSE"] = str(Path(args.warehouse).expanduser().resolve())
    try:
        from csc.settings import load

        load()  # every CSC_* setting, before anything runs: one line per bad value, exit 2
        return args.func(args)
    except KeyboardInterrupt:
        return _fail("interrupted; every file is either fully ingested or not at all")
    except Exception as exc:
        return _explain(exc)


def _explain(exc: Exception) -> int:
    """One line for a csc.errors.CscError, with its exit code: 2 for a mistake the user can fix
    (UserError), 1 for a runtime failure (RuntimeFailure: the LLM endpoint, a corrupt or full
    file, a busy warehouse, another run; a flow refused for one of these raises a RunRefused
    with the code of the error). Anything else is a bug and keeps its traceback. The root is
    imported here, not up front: `csc status` should not pay for what it does not use."""
    from csc.errors import CscError

    if isinstance(exc, CscError):
        print(f"csc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    # Not a CscError yet: the missing warehouse of a read-only command (a FileNotFoundError
    # from warehouse.db.connect), a usage mistake.
    if isinstance(exc, FileNotFoundError):
        return _fail(str(exc))
    if isinstance(exc, RuntimeError) and "ephemeral Prefect API server" in str(exc):
        print("csc: error: the temporary Prefect server did not start in time (a loaded "
              "machine?). Run the command again, raise "
              "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (now "
              f"{os.environ.get('PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS')}), or start "
              "one server with `prefect server start` and set PREFECT_API_URL.", file=sys.stderr)
        return EXIT_FAILED
    raise exc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader (`head`, a closed pager) has gone: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
