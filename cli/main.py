"""`csc`: the command line. Checks what the user asked for before any flow starts, so a mistake
gets one clear line and exit code 2, never a traceback.

Exit codes: 0 ok; 1 the run finished but nothing could be ingested (or a stage failed);
2 a usage or input mistake.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def _ready(needs_llm: bool) -> None:
    """Check what a flow needs before starting it, so a mistake is one clear line, not a
    failed flow run with a traceback."""
    from warehouse.db import ensure_writable

    ensure_writable()
    if needs_llm:
        from csc.csconv.postfilter import PostfilterConfig
        from csc.llm.settings import load_settings

        load_settings()
        PostfilterConfig.from_env()


def _quiet_prefect() -> None:
    """Defaults for a machine with no network: no telemetry, and a server per run if none set."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _fail(message: str) -> int:
    print(f"csc: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_ingest(args: argparse.Namespace) -> int:
    from csc.ingest.report import render_text
    from csc.ingest.service import discover, resolve_source

    path = Path(args.path)
    files = discover(path)  # raises IngestError with a clear message
    for f in files:
        resolve_source(f, args.source)  # a bad --source fails here, before any work
    _ready(needs_llm=False)
    _quiet_prefect()
    from flows.ingest import ingest

    report = ingest(path=str(path), source=args.source, force=args.force,
                    mask_pii=not args.no_mask_pii)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else render_text(report))
    return EXIT_OK if report["ingested_anything"] else EXIT_NOTHING


def _cmd_run(args: argparse.Namespace) -> int:
    _quiet_prefect()
    from csc.paths import SAMPLES

    drop = args.drop or str(SAMPLES)
    if args.stage != "csconv" and not Path(drop).exists():
        return _fail(f"drop folder {drop} does not exist")
    _ready(needs_llm=args.stage != "ingest")
    if args.stage == "nightly":
        from flows.nightly import nightly

        result = nightly(drop_folder=drop)
    elif args.stage == "csconv":
        from flows.csconv import csconv

        result = csconv(limit=args.limit, refresh=args.refresh)
    else:
        from flows.ingest import ingest

        result = {"ingest": ingest(path=drop)["totals"]}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return EXIT_OK


def _cmd_demo(_: argparse.Namespace) -> int:
    """The whole nightly DAG on the bundled samples, offline, against the simulator."""
    from csc.paths import SAMPLES
    from warehouse.db import warehouse_path

    os.environ["CSC_LLM_BASE_URL"] = "simulator"  # the demo chooses it explicitly
    _ready(needs_llm=True)
    _quiet_prefect()
    from flows.nightly import nightly

    result = nightly(drop_folder=str(SAMPLES))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwarehouse: {warehouse_path()}  (open it with duckdb; see docs/analysts.md)")
    print(f"funnel:    {result['csconv']['report']}")
    print("export:    .venv/bin/csc export csconv --format jsonl")
    print("The LLM answers above came from the offline simulator, not from a model.")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from csc.csconv.export import released_shape, write_export
    from csc.csconv.postfilter import PostfilterConfig
    from csc.llm.endpoint import BANNER
    from csc.quality.published import check_csconv
    from warehouse.csconv_store import export_frame, export_lineage, published_frames
    from warehouse.db import connect

    out = Path(args.out or f"out/exports/csconv.{args.format}")
    with connect(read_only=True) as con:
        checks = check_csconv(*published_frames(con), PostfilterConfig.from_env())
        records = released_shape(export_frame(con, args.language))
        lineage = export_lineage(con, args.language)
    if not checks.success:
        print(f"csc: error: the CSConv set fails its quality checks, nothing exported: "
              f"{checks.describe_failures()}", file=sys.stderr)
        return EXIT_NOTHING
    write_export(records, out, args.format, lineage)
    print(f"wrote {len(records)} dialogues to {out} (lineage in {out.name}.meta.json)")
    if lineage["simulator"]:
        print(BANNER.replace("in this run", "in this export"), file=sys.stderr)
    return EXIT_OK if records else EXIT_NOTHING


def _cmd_sources(_: argparse.Namespace) -> int:
    from csc.ingest.sources import builtin_names, load_source

    for name in builtin_names():
        cfg = load_source(name)
        print(f"{name:<10} {cfg.format:<6} {cfg.description}")
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
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csc", description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", help="DuckDB file (default: $CSC_WAREHOUSE or "
                                            "warehouse/csc.duckdb)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest a dialogue file or a folder of them")
    p.add_argument("path")
    p.add_argument("--source", help="built-in source name (see `csc sources`) or a YAML "
                                    "config path; default: chosen by file extension")
    p.add_argument("--force", action="store_true",
                   help="re-read files already ingested unchanged (still adds no duplicates)")
    p.add_argument("--no-mask-pii", action="store_true",
                   help="keep phone numbers, e-mails, ID and card numbers as they are")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("run", help="run a flow directly (no deployment needed)")
    p.add_argument("stage", choices=["nightly", "ingest", "csconv"])
    p.add_argument("--drop", default=None, help="drop folder of raw dialogue files "
                                                "(default: the bundled samples)")
    p.add_argument("--limit", type=int, help="csconv: at most this many dialogues per language")
    p.add_argument("--refresh", action="store_true",
                   help="csconv: ask the LLM again instead of using cached answers")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("demo", help="run the nightly DAG offline on the bundled samples")
    p.set_defaults(func=_cmd_demo)

    # `csc simulator ...` is handed to the simulator's own parser in main()
    sub.add_parser("simulator", add_help=False,
                   help="serve the offline OpenAI-compatible simulator (--port P, "
                        "--latency-ms, --fault-rate; see `csc simulator --help`)")

    p = sub.add_parser("export", help="export a dataset in its released shape")
    p.add_argument("dataset", choices=["csconv"])
    p.add_argument("--format", choices=["json", "jsonl", "parquet"], default="jsonl")
    p.add_argument("--language", choices=["zh", "en"])
    p.add_argument("--out", help="output file (default: out/exports/csconv.<format>)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("sources", help="list the built-in source configs")
    p.set_defaults(func=_cmd_sources)

    p = sub.add_parser("status", help="row counts of the main warehouse tables")
    p.set_defaults(func=_cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["simulator"]:
        from csc.simulator.__main__ import main as simulator_main

        return simulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.warehouse:
        os.environ["CSC_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    from csc.errors import ConfigError
    from csc.ingest.service import IngestError
    from csc.ingest.sources import SourceError
    from csc.llm.gateway import EndpointError
    from csc.llm.settings import LLMNotConfigured
    from warehouse.db import WarehouseError

    try:
        return args.func(args)
    except (IngestError, SourceError, WarehouseError, ConfigError, FileNotFoundError) as exc:
        return _fail(str(exc))
    except (LLMNotConfigured, EndpointError) as exc:
        print(f"csc: error: {exc}", file=sys.stderr)
        return EXIT_NOTHING
    except KeyboardInterrupt:
        return _fail("interrupted; every file is either fully ingested or not at all")


if __name__ == "__main__":
    sys.exit(main())
