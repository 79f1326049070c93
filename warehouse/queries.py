"""Named queries: `sql("csconv/pending")` is the text of sql/queries/csconv/pending.sql.

The SQL the code runs lives in sql/queries/<stage>/<name>.sql (sql/README.md says what goes
where); each file holds one statement and is read once per process.
"""

from __future__ import annotations

from functools import cache

from warehouse.db import SQL_DIR

QUERIES_DIR = SQL_DIR / "queries"


class UnknownQuery(LookupError):
    """No file sql/queries/<name>.sql: a misspelt name, or a file not moved along."""


@cache
def sql(name: str) -> str:
    """The statement in sql/queries/<name>.sql (e.g. "csconv/pending"), trailing blank space
    removed. UnknownQuery names the file looked for and the stage's known queries."""
    parts = name.split("/")
    if name.endswith(".sql") or any(p in ("", ".", "..") for p in parts):
        raise UnknownQuery(f"query name {name!r} is not of the form '<stage>/<name>' (no "
                           "'.sql', no '..'): e.g. sql('csconv/pending')")
    path = QUERIES_DIR.joinpath(*parts).with_suffix(".sql")
    if not path.is_file():
        folder = path.parent
        known = sorted(p.stem for p in folder.glob("*.sql")) if folder.is_dir() else []
        hint = (f"known in {folder.relative_to(SQL_DIR.parent)}: {', '.join(known)}" if known
                else f"no such stage folder {folder.relative_to(SQL_DIR.parent)}")
        raise UnknownQuery(f"no query {name!r}: {path} does not exist ({hint})")
    return path.read_text(encoding="utf-8").rstrip()
