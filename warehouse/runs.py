"""The run ledger (ops.runs): every flow or CLI run, its parameters and how it ended."""

from __future__ import annotations

import json
import uuid

import duckdb


def new_run_id() -> str:
    return uuid.uuid4().hex


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, params: dict) -> None:
    con.execute(
        "INSERT INTO ops.runs VALUES (?, ?, now(), NULL, 'running', ?, NULL) "
        "ON CONFLICT DO NOTHING", [run_id, flow, json.dumps(params, default=str)])


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict) -> None:
    con.execute("UPDATE ops.runs SET finished_at = now(), status = ?, summary = ? "
                "WHERE run_id = ?", [status, json.dumps(summary, default=str), run_id])
