"""`csc query "SQL"`: run one read-only query against the warehouse (or any DuckDB file, such as
the published snapshot) and print the result for a person (an aligned table) or a program
(CSV, JSON). The file is opened read-only, so a query can never change the data; a write is
refused in one line, and so is a SQL mistake: exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from csc.errors import UserError

EXIT_OK = 0
DEFAULT_LIMIT = 100
CELL_WIDTH = 40  # characters of a table cell before it is cut with "…"


class QueryError(UserError):
    """The SQL could not run: a syntax or name mistake, or a statement that would write."""


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 (no limit) or more")
    return value


def add_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = command("query", "run one SQL query on the warehouse, read-only, and print the result "
                         "(docs/analysts.md lists the marts views)")
    p.add_argument("sql", metavar="SQL",
                   help="the query, e.g. \"FROM marts.leaderboard\" (quote it for the shell)")
    p.add_argument("--limit", type=_limit, default=DEFAULT_LIMIT, metavar="N",
                   help=f"print at most N rows, saying so when there were more (default: "
                        f"{DEFAULT_LIMIT}; 0: every row)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table: aligned columns for reading, long cells cut; csv, json: every "
                        "cell whole, for other programs (default: table)")
    p.add_argument("--db", metavar="FILE",
                   help="query this DuckDB file instead of the warehouse, e.g. the published "
                        "snapshot beside it (csc.published.duckdb for csc.duckdb), which the "
                        "nightly never holds (default: the warehouse, --warehouse or "
                        "$CSC_WAREHOUSE)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from warehouse.db import connect

    path = Path(args.db).expanduser() if args.db else None
    if path is not None and not path.is_file():
        raise QueryError(f"--db {path}: no such file")
    with connect(path, read_only=True) as con:
        columns, rows, more = fetch(con, args.sql, args.limit)
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif args.format == "json":
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in rows],
                         ensure_ascii=False, indent=1, default=str))
    else:
        print(render_table(columns, rows))
        print(footer(len(rows), more, args.limit))
        return EXIT_OK
    if more:  # stdout stays the data alone
        print(f"csc: {footer(len(rows), more, args.limit)[1:-1]}", file=sys.stderr)
    return EXIT_OK


def fetch(con: duckdb.DuckDBPyConnection, sql: str, limit: int
          ) -> tuple[list[str], list[tuple], bool]:
    """(column names, at most `limit` rows (0: all), whether the result had more)."""
    try:
        result = con.execute(sql)
        if result.description is None:  # a statement without a result (SET, PRAGMA ...)
            return [], [], False
        columns = [d[0] for d in result.description]
        rows = result.fetchall() if limit == 0 else result.fetchmany(limit + 1)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    more = bool(limit) and len(rows) > limit
    return columns, rows[:limit] if more else rows, more


def _one_line(exc: duckdb.Error) -> str:
    """DuckDB's message in one line (its hints kept, the caret picture of the SQL left out);
    a refused write says why it was refused."""
    text = str(exc).strip()
    refused = re.search(r'statement of type "(\w+)" .* read-only mode', text)
    if refused:
        return (f"{refused.group(1)} refused: csc query opens the file read-only, so no query "
                "can change it (write through the pipeline's commands instead)")
    head = text.split("\n\n", 1)[0] or type(exc).__name__
    return f"the query failed: {' '.join(line.strip() for line in head.splitlines())}"


def footer(shown: int, more: bool, limit: int) -> str:
    if more:
        return (f"({shown} rows shown; the result has more: raise --limit, or --limit 0 for "
                "every row)")
    return f"({shown} row{'' if shown == 1 else 's'})"


def _text(value: Any) -> str:
    """A cell as one line of text: NULL spelt out, line breaks shown, long text cut."""
    if value is None:
        return "NULL"
    text = str(value).replace("\r\n", "↵").replace("\n", "↵").replace("\t", " ")
    if _width(text) > CELL_WIDTH:
        while _width(text) > CELL_WIDTH - 1:
            text = text[:-1]
        text += "…"
    return text


def _width(text: str) -> int:
    """Columns the text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def render_table(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    """Columns aligned (numbers to the right), a rule under the header."""
    if not columns:
        return "(no result set)"
    cells = [[_text(v) for v in row] for row in rows]
    numeric = [any(r[i] is not None for r in rows)
               and all(_is_number(r[i]) for r in rows if r[i] is not None)
               for i in range(len(columns))]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells])
              for i, c in enumerate(columns)]
    lines = [" | ".join(_pad(c, w, r) for c, w, r in zip(columns, widths, numeric, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(_pad(c, w, r) for c, w, r in zip(row, widths, numeric, strict=True))
              for row in cells]
    return "\n".join(line.rstrip() for line in lines)
