"""The SQL the code runs lives in sql/queries/<stage>/<name>.sql (sql/README.md): every file
holds one statement that binds against a migrated warehouse and is used by some code, every
name the code asks `warehouse.queries.sql` for exists, and numbers and words the files copy
from Python constants agree with them."""

from __future__ import annotations

import ast
import re

import duckdb
import pytest

from csc.paths import PROJECT_ROOT
from warehouse.db import connect
from warehouse.queries import QUERIES_DIR, UnknownQuery, sql

CODE_DIRS = ("csc", "warehouse", "tasks", "flows", "cli")
NAMES = sorted(p.relative_to(QUERIES_DIR).with_suffix("").as_posix()
               for p in QUERIES_DIR.rglob("*.sql"))

# Stand-ins for the polars frames warehouse.raw_store registers (d_batch, u_batch, p_batch,
# q_batch, u_new, p_new) and the temp tables it makes (new_ids, batch_state): shaped like the tables they
# feed, enough to bind the queries. The real frames are exercised by the ingest tests.
STAND_INS = (
    "CREATE TEMP TABLE d_batch AS SELECT * FROM raw.dialogues LIMIT 0",
    "CREATE TEMP TABLE u_batch AS SELECT * FROM raw.utterances LIMIT 0",
    "CREATE TEMP TABLE p_batch AS SELECT * FROM staging.prefilter LIMIT 0",
    "CREATE TEMP TABLE q_batch AS SELECT * FROM raw.quarantine LIMIT 0",
    "CREATE TEMP TABLE new_ids AS SELECT dialogue_id FROM raw.dialogues LIMIT 0",
    "CREATE TEMP TABLE batch_state AS SELECT dialogue_id, true AS stored, true AS clash "
    "FROM raw.dialogues LIMIT 0",
    "CREATE TEMP TABLE u_new AS SELECT * FROM raw.utterances LIMIT 0",
    "CREATE TEMP TABLE p_new AS SELECT * FROM staging.prefilter LIMIT 0",
)


def _imported_as(tree: ast.Module) -> set[str]:
    """The local names a module gives warehouse.queries.sql."""
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "warehouse.queries"
            for alias in node.names if alias.name == "sql"}


def _calls() -> tuple[dict[str, list[str]], list[str]]:
    """({query name: [where it is asked for]}, [calls whose name is not a literal])."""
    used: dict[str, list[str]] = {}
    dynamic: list[str] = []
    for folder in CODE_DIRS:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            names = _imported_as(tree)
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in names):
                    continue
                where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    used.setdefault(arg.value, []).append(where)
                else:
                    dynamic.append(where)
    return used, dynamic


def test_the_code_names_its_queries_literally():
    """A literal name is what lets the two tests below see every use."""
    _, dynamic = _calls()
    assert not dynamic, f"sql() called with a computed name at {dynamic}"


def test_every_query_the_code_asks_for_exists():
    used, _ = _calls()
    missing = {name: where for name, where in used.items() if name not in NAMES}
    assert not missing, f"no sql/queries file for {missing}"


def test_every_query_file_is_used():
    used, _ = _calls()
    orphans = [name for name in NAMES if name not in used]
    assert not orphans, f"sql/queries files no code uses: {orphans}"


def test_queries_are_filed_by_stage():
    assert NAMES, "no query files found"
    for name in NAMES:
        assert re.fullmatch(r"[a-z]+/[a-z0-9_]+", name), name


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory):
    with connect(tmp_path_factory.mktemp("queries") / "wh.duckdb") as con:
        for statement in STAND_INS:
            con.execute(statement)
        yield con


@pytest.mark.parametrize("name", NAMES)
def test_every_query_is_one_statement_that_binds(migrated, name: str):
    statements = duckdb.extract_statements(sql(name))
    assert len(statements) == 1, f"{name}: {len(statements)} statements"
    [statement] = statements
    if statement.type == duckdb.StatementType.CREATE:  # not preparable; takes no parameters
        migrated.execute(f"EXPLAIN {statement.query}").fetchall()
    else:  # binds tables, columns and types without running; parameters stay open
        migrated.execute(f"PREPARE check_query AS {statement.query}")
        migrated.execute("DEALLOCATE check_query")


def test_an_unknown_name_says_which_file_is_missing():
    with pytest.raises(UnknownQuery, match=r"csconv/pendng\.sql does not exist .*pending"):
        sql("csconv/pendng")
    with pytest.raises(UnknownQuery, match="no such stage folder"):
        sql("nostage/pending")
    for bad in ("../views/raw", "csconv/pending.sql", "/etc/passwd", "csconv//pending"):
        with pytest.raises(UnknownQuery, match="not of the form"):
            sql(bad)


# -- constants copied into the SQL ----------------------------------------------------------


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_clash_reason_quotes_as_much_of_an_id_as_the_readers_do():
    from csc.ingest.readers.records import EXCERPT

    clashes = _flat(sql("raw/clashes"))
    assert f"CASE WHEN length(b.source_dialogue_id) > {EXCERPT} " in clashes
    assert f"THEN left(b.source_dialogue_id, {EXCERPT - 1}) || '…'" in clashes


def test_only_batch_state_asks_raw_dialogues_about_a_batch():
    """The stored/clash questions are asked once (raw/batch_state); the queries that act on
    the answers read batch_state, never raw.dialogues again."""
    assert "EXISTS (SELECT 1 FROM raw.dialogues r" in _flat(sql("raw/batch_state"))
    for name in ("raw/clashes", "raw/new_ids", "raw/present"):
        assert "raw.dialogues" not in sql(name), name
        assert "batch_state" in sql(name), name


def test_an_incomplete_annotation_is_spelt_as_the_annotator_writes_it():
    from csc.csconv.annotate import NOT_LABELLED

    for name in ("annotate/pending_csconv", "annotate/pending_raw", "annotate/drop_incomplete"):
        assert f"'{NOT_LABELLED}'" in sql(name), name


def test_the_readme_lists_every_schema_and_view(migrated):
    readme = (PROJECT_ROOT / "sql" / "README.md").read_text(encoding="utf-8")
    schemas = {s for (s,) in migrated.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
        "AND NOT internal AND schema_name NOT IN ('main', 'pg_catalog', "
        "'information_schema')").fetchall()}
    views = {v for (v,) in migrated.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}
    tables = {f"{s}.{t}" for s, t in migrated.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    missing = [f"`{s}`" for s in sorted(schemas) if f"`{s}`" not in readme]
    missing += [f"marts.{v}" for v in sorted(views) if f"`marts.{v}`" not in readme]
    missing += [t for t in sorted(tables) if f"`{t}`" not in readme]
    assert not missing, f"sql/README.md does not mention {missing}"
