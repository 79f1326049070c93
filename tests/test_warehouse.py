"""Migrations, one transaction per file, and serialised writers."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import count, dialogue, ingest, write_jsonl

import csc.ingest.service as service
from warehouse.db import WarehouseBusy, connect, migrate, query


def test_migrations_apply_once_and_views_exist(warehouse):
    with connect(warehouse) as con:
        first = query(con, "SELECT version, name FROM ops.schema_migrations ORDER BY version")
        assert migrate(con) == []  # nothing left to apply
        tables = {f"{s}.{t}" for s, t in query(
            con, "SELECT table_schema, table_name FROM information_schema.tables")}
    assert [v for v, _ in first] == sorted(v for v, _ in first) and len(first) >= 2
    for name in ("raw.dialogues", "raw.utterances", "raw.quarantine", "staging.prefilter",
                 "ops.runs", "ops.schema_migrations", "marts.prefilter_summary",
                 "marts.ingest_by_source", "marts.quarantine_by_check"):
        assert name in tables, name


def test_a_warehouse_replaced_in_the_same_process_is_migrated_again(warehouse):
    """connect() migrates a warehouse once per process; a file deleted and made again at the
    same path must still get every table and view."""
    with connect(warehouse) as con:
        assert count_views(con) > 0
    warehouse.unlink()
    with connect(warehouse) as con:
        assert count_views(con) > 0
        assert query(con, "SELECT count(*) FROM raw.dialogues") == [(0,)]


def count_views(con) -> int:
    return query(con, "SELECT count(*) FROM information_schema.tables "
                      "WHERE table_schema = 'marts'")[0][0]


def test_a_file_is_all_in_or_all_out(tmp_path, warehouse, monkeypatch):
    rows = [dialogue(f"d{i}", [("客户", f"问题{i}很严重"), ("客服", "您好")] * 3) for i in range(6)]
    f = write_jsonl(tmp_path / "six.jsonl", rows)
    real = service.iter_batches

    def crash_after_first_batch(path, cfg, rules, **kw):
        batches = real(path, cfg, rules, batch_records=2)
        yield next(batches)
        raise RuntimeError("power cut")

    monkeypatch.setattr(service, "iter_batches", crash_after_first_batch)
    failed = ingest(f, warehouse)  # the run goes on: the file becomes one quarantine row
    assert (failed.records, failed.quarantined, failed.new) == (1, 1, 0)
    assert "power cut" in failed.error and "nothing of it was stored" in failed.error
    for table in ("raw.dialogues", "raw.utterances", "staging.prefilter", "raw.files"):
        assert count(warehouse, f"SELECT count(*) FROM {table}") == 0, table
    assert count(warehouse, "SELECT count(*) FROM raw.quarantine WHERE \"check\" = "
                            "'ingest_failed' AND record_no = 0") == 1
    monkeypatch.setattr(service, "iter_batches", real)
    s = ingest(f, warehouse)  # the rerun picks the whole file up again
    assert s.new == 6 and not s.skipped_unchanged


def test_batches_within_a_file_share_dedup_and_conflict_checks(tmp_path, warehouse, monkeypatch):
    real = service.iter_batches
    monkeypatch.setattr(service, "iter_batches",
                        lambda p, c, r, **kw: real(p, c, r, batch_records=1))
    rows = [dialogue("a"), dialogue("a"), dialogue("a", [("客户", "别的内容"), ("客服", "好")])]
    s = ingest(write_jsonl(tmp_path / "x.jsonl", rows), warehouse)
    assert (s.records, s.new, s.already_present, s.quarantined) == (3, 1, 1, 1)
    # raw.dialogues has no primary key (migration 022): the insert path alone keeps ids unique
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 1
    assert count(warehouse, "SELECT count(*) FROM raw.utterances") == count(
        warehouse, "SELECT n_utterances FROM raw.dialogues")
    assert count(warehouse, "SELECT count(*) FROM staging.prefilter") == 1
    forced = ingest(write_jsonl(tmp_path / "x.jsonl", rows), warehouse, force=True)
    assert (forced.new, forced.already_present, forced.quarantined) == (0, 2, 1)
    assert count(warehouse, "SELECT count(*) FROM raw.dialogues") == 1


def test_writers_queue_instead_of_failing(warehouse):
    order: list[str] = []
    holding = threading.Event()

    def hold():
        with connect(warehouse):
            order.append("first-in")
            holding.set()
            time.sleep(0.5)  # the second writer must wait this out, not fail
            order.append("first-out")

    t = threading.Thread(target=hold)
    t.start()
    assert holding.wait(timeout=30)
    with connect(warehouse):
        order.append("second-in")
    t.join()
    assert order == ["first-in", "first-out", "second-in"]


def test_a_writer_that_waits_too_long_gets_a_clear_error(warehouse):
    with connect(warehouse), pytest.raises(WarehouseBusy, match="another csc process"), \
            connect(warehouse, timeout=0.2):
        pass


def test_read_only_on_a_missing_warehouse_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `csc ingest` first"), \
            connect(tmp_path / "none.duckdb", read_only=True):
        pass


def _migrated_up_to(path, last: int):
    """A DuckDB file with the migrations before `last` applied, as an older release left it."""
    import duckdb

    from warehouse.db import SQL_DIR, _checksum

    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS ops; CREATE TABLE ops.schema_migrations ("
                "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT "
                "NULL, applied_at TIMESTAMP NOT NULL)")
    for migration in sorted((SQL_DIR / "migrations").glob("*.sql")):
        version = int(migration.name.split("_", 1)[0])
        if version >= last:
            break
        text = migration.read_text(encoding="utf-8")
        con.execute(text)
        con.execute("INSERT INTO ops.schema_migrations VALUES (?, ?, ?, now())",
                    [version, migration.name, _checksum(text)])
    return con


def test_migration_021_keeps_the_verdicts_and_drops_only_the_key(tmp_path):
    """A warehouse made before 021 keeps every pre-filter verdict, in order, with its column
    comments; only the primary key goes, and the views read the rebuilt table."""
    con = _migrated_up_to(tmp_path / "old.duckdb", 21)
    rows = [("b" * 32, "v1", False, ["too_few_turns"]), ("a" * 32, "v1", True, []),
            ("a" * 32, "v2", True, [])]
    for d, v, passed, failed in rows:
        con.execute("INSERT INTO staging.prefilter VALUES (?, ?, ?, ?, 4, 2, 2, 2, 30, 0.5, "
                    "'r0', now())", [d, v, passed, failed])
    assert query(con, "SELECT count(*) FROM duckdb_constraints() WHERE table_name = "
                      "'prefilter' AND constraint_type = 'PRIMARY KEY'") == [(1,)]

    assert migrate(con)[0].startswith("021_")
    assert query(con, "SELECT dialogue_id, rules_version, passed, failed_rules "
                      "FROM staging.prefilter") == rows
    assert query(con, "SELECT count(*) FROM duckdb_constraints() WHERE table_name = "
                      "'prefilter' AND constraint_type = 'PRIMARY KEY'") == [(0,)]
    comments = dict(query(con, "SELECT column_name, comment FROM duckdb_columns() WHERE "
                               "schema_name = 'staging' AND table_name = 'prefilter'"))
    assert comments["n_customer"] == "customer raw lines, before merging"
    assert query(con, "SELECT count(*) FROM marts.prefilter_latest") == [(2,)]


def test_migration_022_keeps_the_dialogues_and_drops_only_the_key(tmp_path):
    """A warehouse made before 022 keeps every raw dialogue, in order and column for column;
    only the primary key goes, and the views read the rebuilt table."""
    con = _migrated_up_to(tmp_path / "old.duckdb", 22)
    rows = [("b" * 32, "jsonl", "d2", "zh", None, 3), ("a" * 32, "stc3", None, "en", "电商", 5)]
    for d, source, sid, lang, area, n in rows:
        con.execute("INSERT INTO raw.dialogues VALUES (?, ?, ?, 'f.jsonl', 'sha', 1, NULL, ?, ?, "
                    "?, ?, 0, 0, 0, 'r0', TIMESTAMP '2026-01-02 03:04:05')",
                    [d, source, sid, lang, area, n, n])
    before = query(con, "SELECT * FROM raw.dialogues")
    columns = query(con, "SELECT column_name, data_type, is_nullable FROM "
                         "information_schema.columns WHERE table_schema = 'raw' AND "
                         "table_name = 'dialogues' ORDER BY ordinal_position")
    assert query(con, "SELECT count(*) FROM duckdb_constraints() WHERE schema_name = 'raw' AND "
                      "table_name = 'dialogues' AND constraint_type = 'PRIMARY KEY'") == [(1,)]

    assert migrate(con)[0].startswith("022_")
    assert query(con, "SELECT * FROM raw.dialogues") == before
    assert query(con, "SELECT column_name, data_type, is_nullable FROM "
                      "information_schema.columns WHERE table_schema = 'raw' AND "
                      "table_name = 'dialogues' ORDER BY ordinal_position") == columns
    assert query(con, "SELECT count(*) FROM duckdb_constraints() WHERE schema_name = 'raw' AND "
                      "table_name = 'dialogues' AND constraint_type = 'PRIMARY KEY'") == [(0,)]
    assert query(con, "SELECT source, dialogues FROM marts.ingest_by_source "
                      "ORDER BY source") == [("jsonl", 1), ("stc3", 1)]


def test_migration_023_keeps_the_utterances_and_compresses_their_text_with_zstd(tmp_path):
    con = _migrated_up_to(tmp_path / "old.duckdb", 23)
    rows = [("b" * 32, 0, "customer", "你好，我的订单没到", 9, None, [9]),
            ("b" * 32, 1, "supporter", "您好\n请稍等", 5, "策略1", [2, 3]),
            ("a" * 32, 0, "customer", "hi", 2, None, [2])]
    con.executemany("INSERT INTO raw.utterances VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    columns = query(con, "SELECT column_name, data_type, is_nullable FROM "
                         "information_schema.columns WHERE table_schema = 'raw' AND "
                         "table_name = 'utterances' ORDER BY ordinal_position")

    assert migrate(con)[0].startswith("023_")
    assert query(con, "SELECT * FROM raw.utterances") == rows
    assert query(con, "SELECT column_name, data_type, is_nullable FROM "
                      "information_schema.columns WHERE table_schema = 'raw' AND "
                      "table_name = 'utterances' ORDER BY ordinal_position") == columns
    # new rows are compressed as the rebuilt table says, once written to the file
    con.execute("INSERT INTO raw.utterances SELECT md5(i::VARCHAR), 0, 'customer', "
                "repeat('退款', 30) || i, 61, NULL, [61] FROM range(5000) r(i)")
    con.execute("CHECKPOINT")
    assert query(con, "SELECT DISTINCT compression FROM pragma_storage_info('raw.utterances') "
                      "WHERE column_name = 'text' AND segment_type = 'VARCHAR'") == [("ZSTD",)]
