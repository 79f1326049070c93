"""`csc query "SQL"`: a read-only query printed as a table, CSV or JSON; a mistake or a write is
one line on stderr and exit code 2."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from cli.query import CELL_WIDTH, render_table
from warehouse.db import connect, query


@pytest.fixture
def small(warehouse):
    """A warehouse with a table of five rows: numbers, text (some Chinese, one long), NULL."""
    with connect(warehouse) as con:
        con.execute("CREATE TABLE raw.notes (id INTEGER, note VARCHAR, score DOUBLE)")
        con.execute("INSERT INTO raw.notes VALUES (1, 'short', 0.5), (2, '礼貌问候', NULL), "
                    "(3, ?, 12.25), (4, 'two\nlines', 1), (5, NULL, 2)", ["x" * 100])
    return warehouse


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["query", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_table_with_aligned_columns_and_a_row_count(small, capsys):
    code, out, err = run(capsys, "SELECT id, note, score FROM raw.notes ORDER BY id")
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert [c.strip() for c in lines[0].split("|")] == ["id", "note", "score"]
    assert lines[1].startswith("---") and "-+-" in lines[1]
    assert lines[-1] == "(5 rows)"
    body = lines[2:-1]
    assert body[0].startswith(" 1 | short") and body[1].split(" | ")[2].strip() == "NULL"
    assert "…" in body[2] and "x" * CELL_WIDTH not in body[2]  # a long cell is cut
    assert "two↵lines" in body[3]  # one line per row
    assert body[4].split(" | ")[1].strip() == "NULL"
    assert len({line.index("|") for line in body}) == 1  # the first column is aligned


def test_chinese_text_takes_two_columns_per_character():
    table = render_table(["name", "n"], [("礼貌问候", 1), ("Greeting", 22)])
    header, rule, zh, en = table.splitlines()
    assert header == "name     |  n"
    # 礼貌问候 is 4 characters but 8 terminal columns: the separators line up on screen
    assert zh == "礼貌问候 |  1" and en == "Greeting | 22" and rule == "---------+---"


def test_limit_cuts_and_says_so(small, capsys):
    code, out, _ = run(capsys, "FROM raw.notes ORDER BY id", "--limit", "2")
    assert code == 0 and len(out.splitlines()) == 2 + 2 + 1
    assert out.splitlines()[-1].startswith("(2 rows shown; the result has more")
    code, out, _ = run(capsys, "FROM raw.notes", "--limit", "0")
    assert out.splitlines()[-1] == "(5 rows)"
    code, out, _ = run(capsys, "FROM raw.notes", "--limit", "5")
    assert out.splitlines()[-1] == "(5 rows)"  # exactly the limit: nothing more to say


def test_csv_and_json_keep_every_cell_whole(small, capsys):
    code, out, err = run(capsys, "SELECT id, note FROM raw.notes ORDER BY id", "--format", "csv")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "id,note" and lines[1] == "1,short" and "x" * 100 in out
    code, out, err = run(capsys, "SELECT id, note, score FROM raw.notes ORDER BY id",
                         "--format", "json", "--limit", "3")
    rows = json.loads(out)
    assert rows[1] == {"id": 2, "note": "礼貌问候", "score": None} and len(rows) == 3
    assert err.startswith("csc: 3 rows shown; the result has more")  # stdout stays JSON


@pytest.mark.parametrize(("sql", "says"), [
    ("DELETE FROM raw.notes", "DELETE refused: csc query opens the file read-only"),
    ("CREATE TABLE raw.x (a INT)", "CREATE refused"),
    ("DROP TABLE raw.notes", "DROP refused"),
    ("SELEC 1", "the query failed: Parser Error: syntax error"),
    ("SELECT nope FROM raw.notes", 'Referenced column "nope" not found in FROM clause! '
                                   'Candidate bindings'),
    ("FROM raw.nothing_here", "the query failed: Catalog Error"),
])
def test_a_write_or_a_mistake_is_one_line_and_exit_2(small, capsys, sql, says):
    code, out, err = run(capsys, sql)
    assert code == 2 and out == ""
    assert err.startswith("csc: error: ") and says in err and err.count("\n") == 1
    assert "Traceback" not in err
    assert query_count(small) == 5  # nothing changed


def query_count(db) -> int:
    with connect(db, read_only=True) as con:
        return query(con, "SELECT count(*) FROM raw.notes")[0][0]


def test_db_queries_another_file_and_a_missing_one_is_one_line(small, tmp_path, capsys):
    other = tmp_path / "published.duckdb"
    with connect(other) as con:
        con.execute("CREATE TABLE raw.only_here AS SELECT 42 AS answer")
    code, out, _ = run(capsys, "FROM raw.only_here", "--db", str(other))
    assert code == 0 and out.splitlines()[2].strip() == "42"
    code, out, err = run(capsys, "SELECT 1", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and err == f"csc: error: --db {tmp_path / 'none.duckdb'}: no such file\n"


def test_without_a_warehouse_it_says_so(warehouse, capsys):
    code, _, err = run(capsys, "SELECT 1")
    assert code == 2 and "no warehouse at" in err and err.count("\n") == 1


def test_the_marts_views_answer(small, capsys):
    code, out, _ = run(capsys, "SELECT strategy_id, strategy_name_zh FROM marts.strategies "
                               "WHERE strategy_id = 1")
    assert code == 0 and "礼貌问候" in out and out.splitlines()[-1] == "(1 row)"
