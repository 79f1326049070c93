"""Layers: production code never imports the offline simulator (issue 12, item 9).

The simulator is a top-level package beside csc/ (demo and tests only). csc/, warehouse/,
tasks/, flows/ and schemas/ reach it only as a started process (`python -m simulator`, see
csc.llm.sim_contract); the CLI, bench/, tools/ and the tests may import it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from csc.llm.sim_contract import identity_from_env, launch
from csc.paths import PROJECT_ROOT

PRODUCTION = ("csc", "warehouse", "tasks", "flows", "schemas")
FORBIDDEN = "simulator"


def _names_simulator(module: str | None) -> bool:
    return module is not None and (module == FORBIDDEN or module.startswith(FORBIDDEN + "."))


def simulator_imports(source: str) -> list[int]:
    """Line numbers of every import of the simulator in `source`, wherever it stands (module
    level, inside a function or a branch): `import simulator...`, `from simulator... import`,
    and importlib.import_module / __import__ of a literal name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            hit = any(_names_simulator(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            hit = node.level == 0 and _names_simulator(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            hit = name in ("import_module", "__import__") and isinstance(first, ast.Constant) \
                and isinstance(first.value, str) and _names_simulator(first.value)
        else:
            continue
        if hit:
            lines.append(node.lineno)
    return lines


def production_files() -> list[Path]:
    return sorted(p for package in PRODUCTION for p in (PROJECT_ROOT / package).rglob("*.py")
                  if "__pycache__" not in p.parts)


@pytest.mark.parametrize("source", [
    "import simulator",
    "import simulator.server as s",
    "from simulator import SimConfig",
    "from simulator.runner import SimulatorProcess",
    "def f():\n    if True:\n        from simulator.config import SimConfig\n",
    "class C:\n    def m(self):\n        import simulator.config\n",
    "import importlib\nimportlib.import_module('simulator.server')",
    "__import__('simulator')",
])
def test_the_check_sees_every_form_of_import(source):
    assert simulator_imports(source), source


@pytest.mark.parametrize("source", [
    "import simulators",
    "from csc.llm import sim_contract",
    "from .simulator import x",  # a module of the package itself, not the top-level simulator
    "SIMULATOR = 'simulator'",
    "cmd = [sys.executable, '-m', 'simulator']",
])
def test_the_check_passes_what_is_not_an_import_of_the_simulator(source):
    assert simulator_imports(source) == [], source


def test_production_code_never_imports_the_simulator():
    files = production_files()
    assert len(files) > 50  # the walk found the packages
    found = [f"{path.relative_to(PROJECT_ROOT)}:{line}" for path in files
             for line in simulator_imports(path.read_text(encoding="utf-8"))]
    assert found == [], ("production code reaches the simulator as a started process "
                         f"(csc.llm.sim_contract.launch), never by import: {found}")


CHILD = """
import json, sys
import csc.llm.gateway
import csc.llm.endpoint
from csc.llm.settings import load_settings
settings = load_settings()
identity = settings.endpoint_identity
resolved = csc.llm.endpoint.resolve(settings) if "--start" in sys.argv else settings
print(json.dumps({"identity": identity, "resolved_identity": resolved.endpoint_identity,
                  "base_url": resolved.base_url,
                  "imported": sorted(m for m in sys.modules
                                     if m == "simulator" or m.startswith("simulator."))}))
"""


def _child(*args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSC_SIM_", "CSC_LLM_"))}
    env.update(CSC_LLM_BASE_URL="simulator", CSC_SIM_SEED="3", PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_gateway_and_the_simulator_identity_do_not_import_the_simulator():
    got = _child()
    assert got["imported"] == []
    assert got["identity"] == identity_from_env({"CSC_SIM_SEED": "3"})
    assert got["identity"].startswith("simulator@") and got["identity"].endswith(":seed=3")


def test_base_url_simulator_starts_a_process_and_keeps_the_identity():
    got = _child("--start")
    assert got["imported"] == []  # the simulator runs in its own process
    assert got["base_url"].startswith("http://127.0.0.1:")
    assert got["resolved_identity"] == got["identity"]  # the port is not part of the key


def test_each_started_simulator_takes_a_free_port():
    # one per csc process: two at once (two runs, a run beside `csc simulator`) must not clash
    first = launch()
    try:
        second = launch()
        try:
            assert first.base_url != second.base_url
            assert httpx.get(f"{second.root}/health", timeout=5).status_code == 200
        finally:
            second.stop()
    finally:
        first.stop()


def test_the_simulator_knows_itself_by_the_identity_csc_computes():
    from simulator.config import SimConfig

    for env in ({}, {"CSC_SIM_SEED": "7"}, {"CSC_SIM_SEED": " 12 ", "CSC_SIM_RATE_429": "0.5"}):
        assert SimConfig.from_env(env).identity() == identity_from_env(env)
