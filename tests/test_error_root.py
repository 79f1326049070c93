"""One error root: every exception the project raises to a user is a csc.errors.CscError, a
UserError (exit 2) or a RuntimeFailure (exit 1); the CLI catches the root once; and an LLM
run checks every prompt template it will load before anything starts."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
import shutil

import pytest

from cli.main import _explain, main
from csc.errors import ConfigError, CscError, RunInProgress, RuntimeFailure, StorageError, UserError
from csc.prompts import PROMPTS_DIR, PromptError, check_templates, stage_roles

PACKAGES = ("csc", "cli", "tasks", "flows", "warehouse", "schemas", "simulator")

# Exceptions that never reach a user, so they need no root. Each says why; a new class joins
# this list only with a reason as good.
INTERNAL = {
    "csc.llm.gateway._TransportGaveUp": "private: the gateway turns it into a DeadLetter",
    "csc.llm.gateway._ItemRejected": "private: the gateway turns it into a DeadLetter",
    "csc.llm.parsing.ParseError": "an unreadable answer: the gateway re-asks, then "
                                  "dead-letters the item; it never leaves the gateway",
    "simulator.inputs.Unreadable": "the simulator's refusal of a prompt, sent as an HTTP "
                                   "error to the client, never raised in csc",
    "csc.rolecs.dialogue._Abandoned": "private: a failed call ends simulate() as a dead or "
                                      "deferred outcome, which the stage kit counts",
    "csc.prompts._Unusual": "private: json_block falls back to json.dumps on it",
    "csc.llm.client.UnreadableCompletion": "a 2xx answer that is no chat completion: the "
                                           "gateway retries it, then dead-letters the item",
    "csc.eval.context.Abandoned": "an endpoint failure mid-dialogue: the prediction stage "
                                  "turns it into a dead or deferred outcome, which the kit counts",
    "csc.eval.baselines.NoTrainingData": "a language with no RoleCS training dialogue: the "
                                         "baseline run records it as skipped, with why",
    "csc.finetune.export.NothingToExport": "an export every dialogue of which was dropped: "
                                            "the trigger records it as a wait, with why",
    "warehouse.queries.UnknownQuery": "a bug (a misspelt query name in our code): it keeps "
                                      "its traceback",
}

# User-facing, and the base is still to be added in a module of its own (the branch it
# takes). Strict xfail: once a class has it, its test fails until it leaves this list - and
# then the stop-gaps that still name it (cli.main._explain, tasks.runs._NOT_YET_ROOTED) go.
PENDING: dict[str, type] = {}

# A CscError under neither branch: it carries the exit code of the error it reports.
CARRIES_CODE = {"tasks.runs.RunRefused"}


def _modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            yield importlib.import_module(info.name)  # a module that fails to import fails


def _project_exceptions() -> dict[str, type[BaseException]]:
    found = {}
    for module in _modules():
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseException) \
                    and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


EXCEPTIONS = _project_exceptions()
ROOTED = sorted(n for n, c in EXCEPTIONS.items() if issubclass(c, CscError))


def test_every_exception_that_can_reach_a_user_is_a_csc_error():
    assert len(EXCEPTIONS) >= 15  # the walk found the project's classes
    unrooted = sorted(n for n, c in EXCEPTIONS.items()
                      if not issubclass(c, CscError) and n not in INTERNAL and n not in PENDING)
    assert unrooted == [], ("give these a base from csc.errors (UserError: the user's mistake, "
                            "exit 2; RuntimeFailure: exit 1), or list them in INTERNAL with "
                            f"why they never reach a user: {unrooted}")


@pytest.mark.parametrize("name", sorted(PENDING))
@pytest.mark.xfail(strict=True, reason="its base is still to be added in its own module")
def test_pending_classes_take_their_branch(name):
    assert issubclass(EXCEPTIONS[name], PENDING[name])


@pytest.mark.parametrize("name", ROOTED)
def test_every_csc_error_sits_on_a_branch_with_its_exit_code(name):
    cls = EXCEPTIONS[name]
    if name in CARRIES_CODE or cls in (CscError, UserError, RuntimeFailure):
        return
    assert issubclass(cls, UserError | RuntimeFailure), name
    # a runtime failure exits 1 even when it is also a usage error (a busy warehouse is a
    # WarehouseError too): RuntimeFailure comes first in its bases
    assert cls.exit_code == (1 if issubclass(cls, RuntimeFailure) else 2), name


def test_exit_codes_per_branch():
    assert (UserError.exit_code, RuntimeFailure.exit_code) == (2, 1)
    assert ConfigError.exit_code == 2 and issubclass(ConfigError, ValueError)
    assert StorageError.exit_code == RunInProgress.exit_code == 1
    assert issubclass(RuntimeFailure, RuntimeError)
    from csc.ingest.sources import SourceError
    from csc.llm.settings import LLMNotConfigured
    from warehouse.db import WarehouseBusy, WarehouseError, WarehouseFull

    assert PromptError.exit_code == SourceError.exit_code == WarehouseError.exit_code == 2
    # a missing or malformed setting is the user's to fix, the LLM endpoint's as any other
    assert issubclass(LLMNotConfigured, ConfigError) and LLMNotConfigured.exit_code == 2
    assert WarehouseBusy.exit_code == WarehouseFull.exit_code == 1


@pytest.mark.parametrize(("exc", "code"), [
    (PromptError("no prompt template /p/rewriter.en.md"), 2),
    (ConfigError("CSC_X='y' is wrong"), 2),
    (StorageError("the LLM cache /x is corrupt"), 1),
    (RuntimeFailure("the endpoint is gone"), 1),
])
def test_the_cli_catches_the_root_once(exc, code, capsys):
    assert _explain(exc) == code
    assert capsys.readouterr().err == f"csc: error: {exc}\n"


def test_a_refused_run_carries_the_code_of_its_error(capsys):
    from prefect.exceptions import FailedRun

    from tasks.runs import RunRefused

    refused = RunRefused("CSC_X='y' is wrong", ConfigError.exit_code)
    assert isinstance(refused, FailedRun) and isinstance(refused, CscError)
    assert _explain(refused) == 2
    assert capsys.readouterr().err == "csc: error: CSC_X='y' is wrong\n"
    again = pickle.loads(pickle.dumps(refused))  # a persisted result keeps it whole
    assert (type(again), str(again), again.exit_code) == (RunRefused, str(refused), 2)


def test_a_bug_keeps_its_traceback():
    with pytest.raises(KeyError):
        _explain(KeyError("a bug"))


# -- prompt templates, before anything starts ---------------------------------------------

@pytest.fixture
def prompts(tmp_path, monkeypatch):
    """A copy of prompts/ as CSC_PROMPTS_DIR, and an LLM endpoint that needs no network."""
    folder = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, folder)
    monkeypatch.setenv("CSC_PROMPTS_DIR", str(folder))
    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")
    for role in stage_roles(["csconv"]):
        monkeypatch.delenv(f"CSC_{role.value.upper()}_VARIANT", raising=False)
    return folder


def _no_run(*_, **__):
    pytest.fail("a flow (and its Prefect server) started")


@pytest.mark.parametrize("argv", [["run", "csconv"], ["run", "nightly", "--drop", "{tmp}"],
                                  ["demo"]])
def test_a_missing_template_is_one_line_and_exit_2_before_any_run(argv, prompts, warehouse,
                                                                  monkeypatch, capsys,
                                                                  tmp_path):
    (prompts / "rewriter.en.md").unlink()
    monkeypatch.setattr("cli.main._launch", _no_run)
    monkeypatch.setattr("cli.main._nothing_pending", _no_run)
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"csc: error: no prompt template {prompts / 'rewriter.en.md'}"]
    assert not warehouse.exists()


def test_every_missing_template_is_named_at_once(prompts, warehouse, monkeypatch, capsys):
    for name in ("prefilter_judge.zh.md", "annotator.en.md", "postfilter_judge.strict.zh.md"):
        (prompts / name).unlink()
    (prompts / "rewriter.zh.md").write_text("no sections here\n", encoding="utf-8")
    monkeypatch.setenv("CSC_POSTFILTER_JUDGE_VARIANT", "strict")
    monkeypatch.setattr("cli.main._launch", _no_run)
    monkeypatch.setattr("cli.main._nothing_pending", _no_run)
    assert main(["run", "csconv"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"csc: error: 4 problems with the prompt templates in {prompts}:",
        f"  no prompt template {prompts / 'prefilter_judge.zh.md'}",
        f"  {prompts / 'rewriter.zh.md'} needs a '## system' and a '## user' section",
        f"  CSC_POSTFILTER_JUDGE_VARIANT=strict: no prompt template "
        f"{prompts / 'postfilter_judge.strict.zh.md'}",
        f"  no prompt template {prompts / 'annotator.en.md'}",
    ]


def test_the_templates_check_passes_on_the_shipped_prompts(monkeypatch):
    monkeypatch.delenv("CSC_PROMPTS_DIR", raising=False)
    check_templates(stage_roles(["csconv", "annotate"]))


def test_a_deployed_run_checks_the_templates_at_its_preflight(prompts, monkeypatch):
    """flows call preflight as they start: a missing template stops them there, before the
    endpoint is asked anything."""
    from csc.llm import preflight as module
    from csc.llm.settings import load_settings
    from schemas.llm import Role

    (prompts / "annotator.zh.md").unlink()
    monkeypatch.setattr(module, "resolve", _no_run)
    with pytest.raises(PromptError, match=r"annotator\.zh\.md"):
        module.preflight(load_settings(stages=("csconv",)))
    with pytest.raises(PromptError, match=r"annotator\.zh\.md"):
        module.preflight(load_settings(stages=("annotate",)))
    # a role of no stage has no template to check; the endpoint is asked next
    with pytest.raises(pytest.fail.Exception, match="started"):
        module.preflight(load_settings(stages=("csconv",)), roles=[Role.PLANNER])


# -- a flow refused for a CscError, as the CLI meets it ------------------------------------

@pytest.mark.prefect
def test_a_flow_refused_for_a_user_error_raises_its_exit_code(prefect_server, warehouse):
    from prefect import flow
    from prefect.exceptions import FailedRun

    from tasks.runs import RunRefused, refuses_bad_config

    @flow(name="refused-child")
    @refuses_bad_config
    def child() -> None:
        raise ConfigError("CSC_SOMETHING is not a number")

    @flow(name="refusing-parent")
    @refuses_bad_config
    def parent() -> None:
        child()

    for refused in (child, parent):  # a parent refusing for its sub-flow passes the code on
        with pytest.raises(RunRefused) as raised:
            refused()
        assert isinstance(raised.value, FailedRun)
        assert (str(raised.value), raised.value.exit_code) == ("CSC_SOMETHING is not a number",
                                                               2)
    state = child(return_state=True)
    assert state.is_failed() and state.message == "CSC_SOMETHING is not a number"
