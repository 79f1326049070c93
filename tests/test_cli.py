"""The `csc` command as a Unix user meets it: version, help, typos, pipes, the warehouse it
writes to, commands that answer without a Prefect server, and one line for every mistake."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from helpers import count, dialogue, write_jsonl

from cli.main import build_parser, main
from csc.paths import PROJECT_ROOT, SAMPLES

NO_SERVER = "http://127.0.0.1:9/api"  # nothing listens there: a flow that starts would fail


def run_csc(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=PROJECT_ROOT,
                          text=True, timeout=300, **kw)


def probe(args: list[str], env: dict) -> subprocess.CompletedProcess:
    """Run a command in a fresh interpreter and report which heavy modules it loaded."""
    code = ("import sys; from cli.main import main; rc = main(sys.argv[1:]); "
            "print('LOADED', sorted(m for m in ('prefect', 'great_expectations') "
            "if m in sys.modules)); sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == "csc 0.1.0"  # pyproject.toml's version


def test_the_description_is_whole_and_every_option_has_help_with_its_default():
    parser = build_parser()
    assert parser.description.endswith(".") and "so a mistake" not in parser.description
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        if name == "simulator":
            continue
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"csc {name} {action.dest} has no help"
            takes_value = not isinstance(action, argparse._StoreTrueAction)
            if action.option_strings and takes_value:
                assert "default" in action.help, f"csc {name} {action.dest}: no default named"
    export = subs.choices["export"]
    fmt = next(a for a in export._actions if a.dest == "format")
    assert "(default: jsonl)" in fmt.help


def test_the_simulator_options_have_help():
    from simulator.__main__ import build_parser as sim_parser

    for action in sim_parser()._actions:
        assert action.help, action.dest
    seed = next(a for a in sim_parser()._actions if a.dest == "seed")
    assert "default" in seed.help


def test_global_options_work_after_the_subcommand_too(warehouse, tmp_path, capsys):
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert main(["init", "--warehouse", str(other / "w.duckdb")]) == 0
    capsys.readouterr()
    assert main(["status", "--warehouse", str(other / "w.duckdb")]) == 0
    assert capsys.readouterr().out.startswith(f"warehouse: {other / 'w.duckdb'}")
    assert main(["--warehouse", str(other / "w.duckdb"), "status"]) == 0


@pytest.mark.parametrize(("argv", "usage", "hint"), [
    (["export", "csconv", "--formt", "json"], "usage: csc export", "did you mean --format?"),
    (["ingest", "x", "--sorce", "jsonl"], "usage: csc ingest", "did you mean --source?"),
    (["run", "csconv", "--limt", "3"], "usage: csc run", "did you mean --limit?"),
    (["stauts"], "usage: csc", "did you mean 'status'?"),
])
def test_a_typo_shows_that_commands_usage_and_the_closest_option(argv, usage, hint, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and hint in err, err


def test_an_option_with_no_close_match_gets_no_guess(capsys):
    with pytest.raises(SystemExit):
        main(["status", "--zzzzzz"])
    err = capsys.readouterr().err
    assert err.startswith("usage: csc status") and "did you mean" not in err


def test_numbers_given_to_options_are_range_checked(capsys):
    with pytest.raises(SystemExit):
        main(["run", "csconv", "--limit", "0"])
    assert "must be 1 or more" in capsys.readouterr().err


def test_a_closed_pipe_ends_the_command_quietly(warehouse):
    assert main(["init"]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`head`) has gone before anything is written
    try:
        done = run_csc(["status"], stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.prefect
def test_an_ingest_run_ends_without_noise_on_stderr(warehouse, prefect_server):
    """Binding a duckdb class into a module's namespace (`from duckdb import X`) once made
    nanobind print ~40 "leaked" lines when every `csc ingest` process exited.

    The child uses the session's Prefect server (PREFECT_API_URL passed on) rather than
    starting a temporary one of its own: the leak lines come from the duckdb bindings at
    process exit, whichever server the flow ran against, and the temporary server's own
    start and stop are tested in test_no_orphans and test_storage_errors."""
    assert main(["init"]) == 0
    done = run_csc(["ingest", "samples/raw/zh_dialogues.jsonl"], capture_output=True,
                   env=dict(os.environ, PREFECT_API_URL=prefect_server))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "leaked" not in done.stderr and "nanobind" not in done.stderr


def test_a_mistyped_warehouse_is_an_error_not_a_new_warehouse(tmp_path, monkeypatch, capsys):
    typo = tmp_path / "nonexistent" / "dir" / "w.duckdb"
    monkeypatch.setenv("CSC_WAREHOUSE", str(typo))
    assert main(["ingest", str(SAMPLES)]) == 2
    err = capsys.readouterr().err
    assert f"no folder {typo.parent}" in err and "csc init" in err and "Traceback" not in err
    assert not typo.parent.exists()
    assert main(["init"]) == 0  # asked for explicitly, it is created
    assert typo.exists()
    assert "created warehouse" in capsys.readouterr().out
    assert main(["init"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_reports_and_exports_go_beside_their_warehouse_or_to_csc_out(tmp_path, monkeypatch):
    from warehouse.db import output_dir

    monkeypatch.delenv("CSC_OUT", raising=False)
    monkeypatch.setenv("CSC_WAREHOUSE", str(tmp_path / "a" / "w.duckdb"))
    assert output_dir() == tmp_path / "a" / "out"
    monkeypatch.setenv("CSC_OUT", str(tmp_path / "reports-here"))
    assert output_dir() == tmp_path / "reports-here"


def test_no_drop_folder_means_no_scheduled_run_and_says_what_to_set(warehouse, monkeypatch,
                                                                    capsys):
    monkeypatch.delenv("CSC_DROP_FOLDER", raising=False)
    monkeypatch.setenv("CSC_LLM_BASE_URL", "simulator")
    for stage in ("nightly", "ingest"):
        assert main(["run", stage]) == 2
        err = capsys.readouterr().err
        assert "no drop folder is configured: set CSC_DROP_FOLDER" in err, err
    monkeypatch.setenv("CSC_DROP_FOLDER", str(warehouse.parent / "missing"))
    assert main(["run", "ingest"]) == 2
    assert f"CSC_DROP_FOLDER {warehouse.parent / 'missing'} does not exist" in \
        capsys.readouterr().err
    assert not warehouse.exists()  # refused before anything was written


def test_an_unknown_file_type_is_a_usage_mistake_not_a_quarantined_record(tmp_path, warehouse,
                                                                         capsys):
    xml = tmp_path / "export.xml"
    xml.write_text("<dialogues/>", encoding="utf-8")
    assert main(["ingest", str(xml)]) == 2
    err = capsys.readouterr().err
    assert "does not know how to read '.xml' files" in err and "--source" in err
    assert not warehouse.exists()


@pytest.mark.parametrize(("name", "value"), [("CSC_RULES_MAX_UTTERANCE_CHARS_EN", "lots"),
                                           ("CSC_PII_MASK_HANDLES", "maybe")])
def test_a_bad_ingest_setting_is_refused_before_any_work(tmp_path, warehouse, monkeypatch,
                                                         capsys, name, value):
    monkeypatch.setenv(name, value)
    monkeypatch.setattr("cli.main._prepare_run", lambda *a: pytest.fail("a run started"))
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "1", "turns": []}])
    assert main(["ingest", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"csc: error: {name}={value} must be ")
    assert not warehouse.exists()


def test_a_failed_temporary_server_start_is_one_line(warehouse, monkeypatch, capsys):
    import flows.nightly

    def late(**_):
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API "
                           "server.")

    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    monkeypatch.setattr(flows.nightly, "nightly", late)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("csc: error: the temporary Prefect server did not start")
    assert "Traceback" not in "\n".join(err)
    # the demo waits longer than Prefect's default 20 s for it on a loaded machine
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "90"


def test_a_bug_still_shows_its_traceback(warehouse, monkeypatch):
    import cli.main

    def broken(_):
        raise ZeroDivisionError("a bug, not a user mistake")

    monkeypatch.setattr(cli.main, "_cmd_status", broken)
    with pytest.raises(ZeroDivisionError):
        main(["status"])


@pytest.mark.prefect
def test_ingest_that_adds_nothing_says_why_in_one_line(tmp_path, warehouse, prefect_server,
                                                       capsys):
    # an empty file of any format: one line saying so, exit 1 (a BOM or blanks are empty too)
    for name, content in (("empty.jsonl", b""), ("empty.csv", b"\xef\xbb\xbf"),
                          ("empty.json", b"  \n"), ("empty.txt", b"\n\n")):
        empty = tmp_path / name
        empty.write_bytes(content)
        assert main(["ingest", str(empty)]) == 1, name
        err = capsys.readouterr().err.splitlines()
        assert err[0] == f"csc: warehouse {warehouse}"  # the first line names the warehouse
        assert err[-1] == f"csc: nothing ingested: {empty} is empty"
    bad = write_jsonl(tmp_path / "bad.jsonl", ["{nope", "{nope either", '{"id": 1}'])
    assert main(["ingest", str(bad)]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("csc: nothing ingested: 3 record(s) quarantined, 2 of them as "
                           "malformed_json: ")
    assert last.endswith("(and 1 other check(s)); see raw.quarantine")
    assert count(warehouse, "SELECT count(*) FROM raw.quarantine WHERE \"check\" != "
                            "'empty_file'") == 3


@pytest.mark.prefect
def test_read_only_commands_and_a_no_op_run_start_no_prefect_server(tmp_path, warehouse,
                                                                    prefect_server):
    from flows.nightly import nightly

    env_sim = {"CSC_LLM_BASE_URL": "simulator", "CSC_LLM_CACHE": str(tmp_path / "c.sqlite")}
    os.environ.update(env_sim)
    out = os.environ.pop("CSC_OUT")
    try:
        drop = tmp_path / "drop"
        drop.mkdir()
        write_jsonl(drop / "one.jsonl", [dialogue("a")])
        report = nightly(drop_folder=str(drop))["csconv"]["report"]
        empty = tmp_path / "quiet-night"
        empty.mkdir()
        quiet = nightly(drop_folder=str(empty))  # nothing landed: not an error
        assert quiet["ingest"]["records"] == 0 and quiet["ingest"]["reconciles"]
    finally:
        for k in env_sim:
            os.environ.pop(k)
        os.environ["CSC_OUT"] = out
    # with no CSC_OUT, the report goes beside its warehouse, never into the repository
    assert report == str(warehouse.parent / "out" / "reports" / "csconv_funnel.md")
    env = dict(os.environ, PREFECT_API_URL=NO_SERVER, **env_sim)
    for argv, expected in ((["status"], "raw.dialogues"),
                           (["sources"], "stc3"),
                           (["export", "csconv", "--out", str(tmp_path / "x.jsonl")], "wrote"),
                           (["run", "csconv"], "csconv: nothing pending")):
        done = probe(argv, env)
        assert done.returncode == 0, (argv, done.stderr[-2000:])
        assert expected in done.stdout, (argv, done.stdout)
        # export reuses the nightly's checkpoint verdict for this very set: no GX import
        assert "LOADED []" in done.stdout, (argv, done.stdout)
