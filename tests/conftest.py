"""Shared fixtures: a throw-away warehouse per test, the shared corpora (skipped when absent),
and one temporary Prefect server for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def pytest_configure(config: pytest.Config) -> None:
    """Set Prefect's logging up once, bound to the session's streams: if a test using capsys
    triggered it, its handlers would keep writing to that test's closed capture."""
    from prefect.logging.configuration import setup_logging

    setup_logging()


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DuckDB file, also exported as CSC_WAREHOUSE for code that reads the setting."""
    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("CSC_WAREHOUSE", str(db))
    monkeypatch.setenv("CSC_OUT", str(tmp_path / "out"))
    return db


@pytest.fixture
def stc3() -> Path:
    folder = CORPORA / "stc3-dch1"
    if not folder.is_dir():
        pytest.skip("../shared/corpora/stc3-dch1 is not present on this machine")
    return folder


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory):
    """One temporary Prefect server (with its own database) shared by the flow tests."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
