"""Shared fixtures: a throw-away warehouse per test, the shared corpora (skipped when absent),
and one temporary Prefect server for the whole session.

Tests that read ../shared/corpora carry the `corpus` marker (added here to any test using the
`stc3` fixture). When some of them skip, the session ends with one line naming them, and the
list goes to the file named by CSC_CORPUS_SKIPS_FILE (empty when none skipped): .ci/run fails
when corpus tests skipped on a machine that has the corpora.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
CORPUS_SKIPS_FILE = "CSC_CORPUS_SKIPS_FILE"
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def pytest_configure(config: pytest.Config) -> None:
    """Set Prefect's logging up once, bound to the session's streams: if a test using capsys
    triggered it, its handlers would keep writing to that test's closed capture."""
    from prefect.logging.configuration import setup_logging

    setup_logging()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "stc3" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpus)


def _corpus_skips(reporter) -> list[str]:
    """Node ids of skipped tests that are marked `corpus` or skipped for want of a corpus."""
    found = []
    for report in reporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if "corpus" in report.keywords or "shared/corpora" in reason:
            found.append(report.nodeid)
    return sorted(set(found))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller sees every skip
        return
    skipped = _corpus_skips(terminalreporter)
    target = os.environ.get(CORPUS_SKIPS_FILE)
    if target:
        Path(target).write_text("".join(f"{n}\n" for n in skipped), encoding="utf-8")
    if skipped:
        terminalreporter.write_line(
            f"corpus tests skipped ({len(skipped)}, {CORPORA} "
            f"{'present' if CORPORA.is_dir() else 'absent'}): {', '.join(skipped)}")


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
    """One temporary Prefect server (with its own database) shared by the flow tests; its API
    URL is the fixture's value. The harness sets it for this process only, not in os.environ:
    a child process (`csc ...`) uses this server only when the test passes PREFECT_API_URL
    on, and otherwise starts a temporary server of its own (~10 s of start-up)."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture
def llm_env(tmp_path, monkeypatch):
    """Point every LLM stage at a fresh in-process simulator over real HTTP (with its own
    cache file): `llm_env(sim)` inside `with run_in_thread(...) as sim`."""
    from helpers import point_llm_at

    def use(sim):
        point_llm_at(monkeypatch, sim.base_url, tmp_path / "llm.sqlite")
        return sim
    return use
