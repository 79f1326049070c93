"""A canonical snapshot of what the pipeline's stages left in a warehouse, to show that a change
to how the stages run (not what they compute) leaves the demo's results exactly as they were.

    python -m tools.demo_snapshot WAREHOUSE [--out FILE] [--compare BASELINE.json]

For each stage table: the row count, a sha256 over the sorted keys, a sha256 over the sorted
rows (keys plus the deterministic content columns), and for a few tables counts by a column
(rejects by step, annotations by strategy_id, ...) so that a difference reads as numbers.
Without --out the snapshot goes to stdout (unless --compare is given). --compare prints each
table that differs and exits 1; 0 when identical; 2 (one line, no traceback) when a file is
missing or unreadable. The warehouse is opened read-only.

What is left out of the hashes, everywhere: run ids, timestamps (created_at, ingested_at,
evaluated_at, quarantined_at, computed_at), LLM call ids. They name a run, not its result, and
differ on every run. Two columns are normalised rather than dropped:
- source_file (raw.dialogues, raw.quarantine) is reduced to the file's name: the absolute
  path names the checkout the demo ran in (/work/main/samples/raw/... vs a clean clone's).
- JSON columns (csconv.rewrites.turns) are re-serialised with sorted keys, and floats rounded
  to 9 decimals, so a change of serialisation or summation order is not a change of result.
The demo is deterministic against the offline simulator: two fresh runs of `csc demo` give
identical snapshots (checked when tests/data/demo_snapshot.json was made, at 6835ab1).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

FORMAT = 1
EXIT_SAME, EXIT_DIFFERENT, EXIT_USAGE = 0, 1, 2
FLOAT_DECIMALS = 9


@dataclass(frozen=True)
class Table:
    name: str
    keys: tuple[str, ...]
    content: tuple[str, ...]
    by: tuple[str, ...] = ()  # columns to count rows by, for a readable diff
    basename: tuple[str, ...] = ()  # path columns reduced to the file's name
    json_cols: tuple[str, ...] = ()  # JSON text re-serialised canonically


# Read from sql/migrations/*.sql. Excluded per table (besides what the module docstring says
# for all): nothing else; every other column is deterministic on the demo.
TABLES: tuple[Table, ...] = (
    Table("raw.dialogues", ("dialogue_id",),
          ("source", "source_dialogue_id", "source_file", "file_sha256", "record_no", "line_no",
           "language", "business_area", "n_utterances", "n_lines_in", "n_empty_dropped",
           "n_skipped", "pii_masked"),  # - run_id, ingested_at
          by=("language",), basename=("source_file",)),
    Table("raw.utterances", ("dialogue_id", "utt_index"),
          ("speaker", "text", "n_chars", "strategy_label", "source_line_chars")),
    Table("raw.quarantine", ("quarantine_id",),
          ("source", "source_file", "file_sha256", "record_no", "line_no",
           "source_dialogue_id", "check", "reason", "payload"),  # - run_id, quarantined_at
          by=("check",), basename=("source_file",)),
    Table("staging.prefilter", ("dialogue_id", "rules_version"),
          ("passed", "failed_rules", "n_lines", "n_turns", "n_customer", "n_supporter",
           "max_utterance_chars", "customer_long_share"),  # - run_id, evaluated_at
          by=("passed",)),
    Table("csconv.llm_prefilter", ("dialogue_id", "pipeline_version"),
          ("low_quality", "reason", "reasoning", "model", "prompt_version"),  # - run_id, created_at
          by=("low_quality",)),
    Table("csconv.rewrites", ("dialogue_id", "pipeline_version"),
          ("turns", "reasoning", "trimmed", "model", "prompt_version", "pii_masked",
           "pii_masked_reasoning", "faithfulness"),  # - run_id, created_at
          json_cols=("turns",)),
    Table("csconv.judgements", ("dialogue_id", "pipeline_version"),
          ("quality", "reason", "reasoning", "model", "prompt_version"),  # - run_id, created_at
          by=("quality",)),
    Table("csconv.dialogues", ("csconv_id",),
          ("dialogue_id", "pipeline_version", "language", "business_area", "n_utterances",
           "n_supporter", "strategy_use", "rewriter_model", "rewrite_prompt",
           "judge_model"),  # - run_id, created_at
          by=("language",)),
    Table("csconv.utterances", ("csconv_id", "utt_index"),
          ("speaker", "strategy_id", "strategy_label", "stage", "text")),
    Table("csconv.rejects", ("dialogue_id", "pipeline_version"),
          ("step", "reason"),  # - run_id, created_at
          by=("step",)),
    Table("csconv.annotations", ("target_kind", "target_id", "utt_index", "prompt_version",
                                 "model"),
          ("strategy_id", "strategy_label", "label_error"),  # - run_id, created_at
          by=("strategy_id", "target_kind")),
    Table("csconv.label_agreement", ("scope", "strategy_id"),
          ("n", "accuracy", "kappa"),  # - run_id, computed_at
          by=("scope",)),
)


class SnapshotError(Exception):
    """A missing or unusable file: one line for the user, no traceback."""


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return round(value, FLOAT_DECIMALS) + 0.0  # + 0.0: -0.0 and 0.0 are one value
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)  # decimals, dates, uuids: their text


def _line(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _digest(lines: list[str]) -> str:
    h = hashlib.sha256()
    for line in sorted(lines):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()
    return {c for (c,) in rows}


def table_snapshot(con: duckdb.DuckDBPyConnection, spec: Table) -> dict[str, Any]:
    present = _columns(con, spec.name)
    if not present:
        raise SnapshotError(f"the warehouse has no table {spec.name}: not a CSC warehouse?")
    wanted = spec.keys + spec.content
    missing = [c for c in wanted if c not in present]
    if missing:
        raise SnapshotError(f"{spec.name} has no column {', '.join(missing)}: a warehouse "
                            "from another schema version? (update TABLES in "
                            "tools/demo_snapshot.py)")
    select = ", ".join(f'"{c}"' for c in wanted)
    rows = con.execute(f"SELECT {select} FROM {spec.name}").fetchall()
    keys, lines = [], []
    counts: dict[str, Counter] = {c: Counter() for c in spec.by}
    for row in rows:
        record = dict(zip(wanted, row, strict=True))
        for c in spec.basename:
            if record[c] is not None:
                record[c] = PurePosixPath(str(record[c]).replace("\\", "/")).name
        for c in spec.json_cols:
            if record[c] is not None:
                record[c] = json.loads(record[c]) if isinstance(record[c], str) else record[c]
        values = [_canonical(record[c]) for c in wanted]
        keys.append(_line(values[:len(spec.keys)]))
        lines.append(_line(values))
        for c in spec.by:
            value = values[wanted.index(c)]
            counts[c][value if isinstance(value, str) else json.dumps(value)] += 1
    out: dict[str, Any] = {
        "rows": len(rows),
        "keys_sha256": _digest(keys),
        "sha256": _digest(lines),
        "columns": {"keys": list(spec.keys), "content": list(spec.content)},
    }
    for c in spec.by:
        out[f"by_{c}"] = {k: counts[c][k] for k in sorted(counts[c])}
    return out


def snapshot(warehouse: Path) -> dict[str, Any]:
    """The snapshot of a warehouse file, opened read-only."""
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise SnapshotError(f"no warehouse file at {warehouse}")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SnapshotError(f"cannot open the warehouse {warehouse} read-only: {first}") from None
    try:
        tables = {spec.name: table_snapshot(con, spec) for spec in TABLES}
    finally:
        con.close()
    return {"format": FORMAT, "tables": tables}


def load(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SnapshotError(f"no snapshot file at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        raise SnapshotError(f"{path} is not a demo snapshot (no 'tables')")
    return data


def differences(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per difference, grouped by table; empty when the snapshots are identical."""
    out: list[str] = []
    old, new = baseline["tables"], current["tables"]
    for name in sorted(set(old) | set(new)):
        if name not in new:
            out.append(f"{name}: in the baseline only")
            continue
        if name not in old:
            out.append(f"{name}: not in the baseline")
            continue
        a, b = old[name], new[name]
        if a == b:
            continue
        parts = []
        if a.get("rows") != b.get("rows"):
            parts.append(f"rows {a.get('rows')} -> {b.get('rows')}")
        if a.get("columns") != b.get("columns"):
            parts.append("hashed columns differ (hashes not comparable)")
        if a.get("keys_sha256") != b.get("keys_sha256"):
            parts.append("keys differ")
        if a.get("sha256") != b.get("sha256"):
            parts.append("content differs" if a.get("keys_sha256") == b.get("keys_sha256")
                         else "rows differ")
        out.append(f"{name}: {', '.join(parts) or 'differs'}")
        for field in sorted(k for k in set(a) | set(b) if k.startswith("by_")):
            ca, cb = a.get(field, {}), b.get(field, {})
            for value in sorted(set(ca) | set(cb)):
                if ca.get(value, 0) != cb.get(value, 0):
                    out.append(f"  {field[3:]}={value}: {ca.get(value, 0)} -> "
                               f"{cb.get(value, 0)}")
    return out


def dump(snap: dict[str, Any]) -> str:
    return json.dumps(snap, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo_snapshot",
        description="Snapshot the stage tables of a CSC warehouse (counts and hashes), or "
                    "compare one with a baseline snapshot.")
    parser.add_argument("warehouse", type=Path, help="the DuckDB warehouse file (read-only)")
    parser.add_argument("--out", type=Path, help="write the snapshot here (default: stdout, "
                                                 "unless --compare is given)")
    parser.add_argument("--compare", type=Path, metavar="BASELINE.json",
                        help="compare with this snapshot: exit 1 and list the tables that "
                             "differ, 0 when identical")
    args = parser.parse_args(argv)
    try:
        baseline = load(args.compare) if args.compare else None
        snap = snapshot(args.warehouse)
        if args.out:
            try:
                args.out.write_text(dump(snap), encoding="utf-8")
            except OSError as exc:
                raise SnapshotError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        elif baseline is None:
            sys.stdout.write(dump(snap))
    except SnapshotError as exc:
        print(f"demo_snapshot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if baseline is None:
        return EXIT_SAME
    diff = differences(baseline, snap)
    if diff:
        print(f"{args.warehouse} differs from {args.compare}:")
        print("\n".join(diff))
        return EXIT_DIFFERENT
    print(f"{args.warehouse} matches {args.compare} ({len(snap['tables'])} tables)")
    return EXIT_SAME


if __name__ == "__main__":
    sys.exit(main())
