"""The analysts' snapshot: a whole copy swapped in atomically; readers of the old one keep
reading it, new readers see the new one, and the working warehouse stays writable."""

from __future__ import annotations

import duckdb

from warehouse.db import WarehouseFull, connect
from warehouse.snapshot import publish_snapshot, snapshot_path


def _rows(path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT run_id FROM ops.runs ORDER BY run_id").fetchall()
    finally:
        con.close()


def _add_run(db, run_id: str) -> None:
    with connect(db) as con:
        con.execute("INSERT INTO ops.runs (run_id, flow, started_at, status) "
                    "VALUES (?, 'test', now(), 'completed')", [run_id])


def test_the_snapshot_is_beside_the_warehouse_and_named_for_it(tmp_path):
    assert snapshot_path(tmp_path / "wh.duckdb") == tmp_path / "wh.published.duckdb"
    assert snapshot_path(tmp_path / "csc") == tmp_path / "csc.published.duckdb"


def test_a_reader_of_the_old_snapshot_keeps_it_while_the_new_one_replaces_it(warehouse):
    _add_run(warehouse, "a")
    path = publish_snapshot(warehouse)
    assert path == snapshot_path(warehouse) and _rows(path) == [("a",)]
    reader = duckdb.connect(str(path), read_only=True)  # an analyst's open notebook
    try:
        _add_run(warehouse, "b")  # the working warehouse is still writable
        assert publish_snapshot(warehouse) == path
        assert reader.execute("SELECT run_id FROM ops.runs ORDER BY 1").fetchall() == [("a",)]
    finally:
        reader.close()
    assert _rows(path) == [("a",), ("b",)]
    assert [p.name for p in path.parent.iterdir() if "partial" in p.name] == []


def test_a_failed_copy_leaves_the_old_snapshot_and_no_partial_file(warehouse, monkeypatch):
    import shutil

    import pytest

    _add_run(warehouse, "a")
    path = publish_snapshot(warehouse)
    _add_run(warehouse, "b")

    def full_disk(src, dst):
        open(dst, "wb").write(b"half")  # noqa: SIM115
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    with pytest.raises(WarehouseFull, match="is full"):  # one clear line, as for any write
        publish_snapshot(warehouse)
    assert _rows(path) == [("a",)]
    assert [p.name for p in path.parent.iterdir() if "partial" in p.name] == []
