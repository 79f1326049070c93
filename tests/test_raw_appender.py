"""warehouse.raw_store.Appender: rows are inserted in whole row groups, then the rest on flush;
none is lost, repeated or reordered."""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.raw_store import Appender


def _appender(group: int) -> tuple[duckdb.DuckDBPyConnection, Appender]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (n INTEGER)")
    return con, Appender(con, "INSERT INTO t SELECT n FROM u_new", group=group)


def _stored(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [n for (n,) in con.execute("SELECT n FROM t").fetchall()]


def test_rows_go_in_whole_groups_and_the_rest_on_flush() -> None:
    con, appender = _appender(group=5)
    appender.add(pl.DataFrame({"n": [0, 1, 2]}))
    assert _stored(con) == []  # under one group: held
    appender.add(pl.DataFrame({"n": [3, 4, 5, 6]}))
    assert _stored(con) == [0, 1, 2, 3, 4]  # one whole group; 5 and 6 held
    appender.add(pl.DataFrame({"n": list(range(7, 18))}))
    assert _stored(con) == list(range(15))  # 13 held rows make two more groups; 3 held
    appender.add(pl.DataFrame({"n": []}, schema={"n": pl.Int64}))
    assert _stored(con) == list(range(15))
    appender.flush()
    assert _stored(con) == list(range(18))
    appender.flush()  # nothing left: no second insert
    assert _stored(con) == list(range(18))


def test_an_exact_group_is_inserted_at_once_and_flush_adds_nothing() -> None:
    con, appender = _appender(group=4)
    appender.add(pl.DataFrame({"n": [1, 2]}))
    appender.add(pl.DataFrame({"n": [3, 4]}))
    assert _stored(con) == [1, 2, 3, 4]
    appender.flush()
    assert _stored(con) == [1, 2, 3, 4]


def test_nothing_added_inserts_nothing() -> None:
    con, appender = _appender(group=3)
    appender.flush()
    assert _stored(con) == []
