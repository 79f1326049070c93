"""One settings object (csc.settings): every CSC_* setting outside the LLM endpoint's is typed,
validated at once, refused in one line naming the variable and what a valid value is (a
ConfigError: exit 2, as the LLM endpoint's own), defaults as before, and recorded in
ops.runs.settings with no secret."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import query_all, write_jsonl

from csc import settings as S
from csc.errors import ConfigError, UserError
from csc.paths import PROJECT_ROOT
from schemas.llm import Role

NO_SERVER = "http://127.0.0.1:9/api"  # nothing listens there: a flow that starts would fail

# A value each rule refuses: not of its type, and (where it has one) out of its range. A field
# with a rule missing here fails test_every_rule_has_bad_examples, so a new setting is covered.
BAD = {
    S.WHOLE_GE_1: ["abc", "1.5", "0"],
    S.WHOLE_GE_0: ["abc", "2.5", "-1"],
    S.NUMBER_GE_0: ["abc", "nan", "-0.1"],
    S.SHARE: ["abc", "1.01", "-0.1"],
    S.SECONDS: ["abc", "inf", "-1"],
    S.SWITCH: ["abc", "maybe"],
    S.VARIANT: ["../up", "zh", "Has Space"],
    S.TIME_ZONE: ["abc", "Asia/Shangai"],
    S.CRON: ["abc", "every night", "61 2 * * *"],
    S.TOPICS: ["|", "| |"],
    S.MODEL_NAME: ["-lead", "has space", "a/b"],
    S.HOLDOUT: ["abc", "1", "-0.1", "nan"],
    S.POSITIVE: ["abc", "0", "-1", "inf"],
    S.FINETUNE_PROVIDER: ["abc", "open-ai", "none"],
}
ANY_TEXT = {S.PATH}  # a path cannot be malformed; whether it exists is checked where it is used
FIELDS = sorted(S.fields())


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No CSC_* setting from the machine or a `.env`; tests set what they need. What a `.env`
    put into the environment goes with the test (monkeypatch restores the rest after)."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("CSC_"):
            monkeypatch.delenv(name)
    S.reset()
    yield
    for name in list(os.environ):
        if name.upper().startswith("CSC_"):
            del os.environ[name]
    S.reset()


def one_problem(monkeypatch, **env: str) -> S.SettingsError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(S.SettingsError) as info:
        S.load()
    return info.value


# -- every setting, a bad value: one line, the variable, what is valid, exit 2 ---------------

def test_every_rule_has_bad_examples():
    rules = {S.rule_of(f) for f in FIELDS}
    assert rules - ANY_TEXT <= set(BAD), "add bad values for the new rule to BAD"


@pytest.mark.parametrize("field", FIELDS)
def test_a_bad_value_of_any_setting_is_one_line_naming_it_and_what_is_valid(field,
                                                                           monkeypatch):
    rule, name = S.rule_of(field), S.env_name(field)
    if rule in ANY_TEXT:
        monkeypatch.setenv(name, "~/any text/at all")
        assert getattr(S.load(), field) == Path("~/any text/at all").expanduser()
        return
    for value in BAD[rule]:
        monkeypatch.setenv(name, value)
        with pytest.raises(S.SettingsError) as info:
            S.load()
        error = info.value
        assert str(error) == f"{name}={value} must be {rule.text}"
        assert error.problems == [str(error)] and "\n" not in str(error)
        assert isinstance(error, ConfigError) and isinstance(error, UserError)
        assert error.exit_code == 2


def test_every_bad_value_is_reported_at_once_one_per_line(monkeypatch):
    error = one_problem(monkeypatch, CSC_WAREHOUSE_WAIT_S="soon", CSC_RULES_MIN_TURNS="40",
                        CSC_CSCONV_MIN_UTTERANCES="abc", CSC_PII_MASK_HANDLES="maybe")
    expected = [
        "CSC_WAREHOUSE_WAIT_S=soon must be a number of seconds >= 0 (0: do not wait)",
        "CSC_PII_MASK_HANDLES=maybe must be 1 or 0 (also true/false, yes/no, on/off)",
        "CSC_CSCONV_MIN_UTTERANCES=abc must be a whole number >= 0",
        "CSC_RULES_MIN_TURNS=40 must be <= CSC_RULES_MAX_TURNS, which is 30",
    ]
    assert error.problems == expected
    assert str(error).splitlines() == ["4 problems with the settings:"] + [
        f"  {p}" for p in expected]
    # the settings with the defaults in place of the bad values, to name the warehouse
    assert error.settings.rules_min_turns == 3 and error.settings.warehouse_wait_s == 300.0


@pytest.mark.parametrize(("low", "high"), S.ORDERED)
def test_a_minimum_above_its_maximum_is_refused_and_equal_is_fine(low, high, monkeypatch):
    monkeypatch.setenv(S.env_name(low), "20")
    monkeypatch.setenv(S.env_name(high), "20")
    assert getattr(S.load(), low) == 20
    monkeypatch.setenv(S.env_name(low), "21")
    error = one_problem(monkeypatch)
    assert str(error) == f"{S.env_name(low)}=21 must be <= {S.env_name(high)}, which is 20"


@pytest.mark.parametrize(("value", "expected"), [
    (" 7 ", 7), ("", 10), ("   ", 10), ("1_000", 1000)])
def test_values_are_trimmed_and_blank_means_unset(value, expected, monkeypatch):
    monkeypatch.setenv("CSC_CSCONV_MIN_UTTERANCES", value)
    monkeypatch.setenv("CSC_CSCONV_MAX_UTTERANCES", "5000")
    assert S.load().csconv_min_utterances == expected


def test_a_variant_is_lower_cased_and_default_means_none(monkeypatch):
    monkeypatch.setenv("CSC_POSTFILTER_JUDGE_VARIANT", " Strict ")
    monkeypatch.setenv("CSC_REWRITER_VARIANT", "default")
    s = S.load()
    assert s.variant(Role.POSTFILTER_JUDGE) == "strict" and s.variant(Role.REWRITER) is None


def test_every_role_has_a_variant_setting():
    assert {f"CSC_{r.value.upper()}_VARIANT" for r in Role} <= set(S.fields().values())


# -- defaults: as they were before the settings object ----------------------------------------

TODAY = {  # the defaults each module read before csc.settings (README, docs/metrics.md)
    "CSC_WAREHOUSE": PROJECT_ROOT / "warehouse" / "csc.duckdb",
    "CSC_OUT": None, "CSC_WAREHOUSE_WAIT_S": 300.0, "CSC_DROP_FOLDER": None,
    "CSC_SOURCE_MAP": None, "CSC_PROMPTS_DIR": PROJECT_ROOT / "prompts",
    "CSC_MAX_RECORD_BYTES": None, "CSC_MAX_UTTERANCE_CHARS": None,
    "CSC_PII_MASK_HANDLES": True,
    "CSC_RULES_MIN_TURNS": 3, "CSC_RULES_MAX_TURNS": 30,
    "CSC_RULES_MAX_UTTERANCE_CHARS_ZH": 500, "CSC_RULES_MAX_UTTERANCE_CHARS_EN": 1800,
    "CSC_RULES_SUPPORTER_TO_CUSTOMER_MAX": 2.0, "CSC_RULES_MIN_CUSTOMER_LONG_SHARE": 0.7,
    "CSC_RULES_CUSTOMER_LONG_CHARS": 3,
    "CSC_CSCONV_MIN_UTTERANCES": 10, "CSC_CSCONV_MAX_UTTERANCES": 50,
    "CSC_CSCONV_FAITHFUL_ZH": 0.20, "CSC_CSCONV_FAITHFUL_EN": 0.30,
    "CSC_NIGHTLY_CRON": "0 2 * * *", "CSC_NIGHTLY_TZ": "UTC",
    # RoleCS (csc-method §4): the bundled personas, the seven topics, 50 utterances
    "CSC_ROLECS_PERSONAS": None, "CSC_ROLECS_TOPICS_ZH": None, "CSC_ROLECS_TOPICS_EN": None,
    "CSC_ROLECS_SEED": 0, "CSC_ROLECS_MAX_UTTERANCES": 50,
    # evaluation (csc-method §5): the default registry, 1,000 bootstrap resamples
    "CSC_EVAL_MODELS": None, "CSC_EVAL_RESAMPLES": 1000,
    "CSC_EVAL_REFERENCE_MODEL": "strategy-prior",
    # fine-tune exports (docs/finetune.md): 200 new dialogues, 16k tokens, 10% validation
    "CSC_FINETUNE_MIN_NEW_DIALOGUES": 200, "CSC_FINETUNE_MAX_TOKENS": 16_000,
    "CSC_FINETUNE_VALIDATION_SHARE": 0.1, "CSC_FINETUNE_SEED": 0,
    # fine-tune jobs (docs/finetune.md): 10 s first pause, 5 min longest, 6 h in all
    "CSC_FINETUNE_POLL_S": 10.0, "CSC_FINETUNE_POLL_MAX_S": 300.0,
    "CSC_FINETUNE_TIMEOUT_S": 21_600.0,
    # a run queues behind another process's run for up to 6 hours
    "CSC_RUN_WAIT_S": 21_600.0,
    # who trains in the nightly: the CPU classifier, on its provider's default base
    "CSC_FINETUNE_PROVIDER": "local", "CSC_FINETUNE_BASE_MODEL": None,
    **{f"CSC_{r.value.upper()}_VARIANT": None for r in Role},
}


def test_the_defaults_are_todays():
    s = S.load()
    assert {name: getattr(s, field) for field, name in S.fields().items()} == TODAY


def test_the_domain_configs_default_to_the_same_values():
    from csc.csconv.postfilter import PostfilterConfig
    from csc.prompts import PROMPTS_DIR
    from csc.rules import RuleConfig
    from warehouse.db import DEFAULT_PATH, DEFAULT_WAIT_S, output_dir

    s = S.load()
    assert RuleConfig.from_env() == RuleConfig() and PostfilterConfig.from_env() == \
        PostfilterConfig()
    assert (s.warehouse, s.warehouse_wait_s, s.prompts_dir) == (DEFAULT_PATH, DEFAULT_WAIT_S,
                                                               PROMPTS_DIR)
    assert output_dir() == DEFAULT_PATH.parent / "out"


# -- read once, from the environment and .env --------------------------------------------------

def test_current_follows_the_environment_and_is_not_reloaded_otherwise(monkeypatch):
    first = S.current()
    assert S.current() is first  # nothing changed: the same validated object
    monkeypatch.setenv("CSC_RULES_MIN_TURNS", "4")
    assert S.current().rules_min_turns == 4
    monkeypatch.setenv("CSC_RULES_MIN_TURNS", "four")
    with pytest.raises(S.SettingsError, match=r"^CSC_RULES_MIN_TURNS=four must be"):
        S.current()


def test_dotenv_is_read_but_never_overrides_the_environment(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("# comment\nCSC_RULES_MIN_TURNS=5\n"
                                   "CSC_RULES_MAX_TURNS='40'\n", encoding="utf-8")
    monkeypatch.setenv("CSC_RULES_MAX_TURNS", "35")
    s = S.load()
    assert (s.rules_min_turns, s.rules_max_turns) == (5, 35)


# -- the same mistake exits the same way, through the real CLI --------------------------------

def run_csc(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("name", "expected"), [
    ("CSC_LLM_CONCURRENCY", "a whole number >= 1"),  # an LLM endpoint setting
    ("CSC_CSCONV_MIN_UTTERANCES", "a whole number >= 0"),  # one of csc.settings
])
def test_a_typo_in_an_llm_or_another_setting_exits_2_in_one_line(name, expected, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CSC_")}
    env |= {"CSC_WAREHOUSE": str(tmp_path / "wh.duckdb"), "CSC_LLM_BASE_URL": "simulator",
            "PREFECT_API_URL": NO_SERVER, name: "abc"}
    done = run_csc(["run", "csconv"], env)
    assert (done.returncode, done.stderr) == (2, f"csc: error: {name}=abc must be {expected}\n")
    assert not (tmp_path / "wh.duckdb").exists()  # refused before anything was written


# -- recorded in ops.runs, without secrets ------------------------------------------------------

SECRET = "sk-test-SECRET-0123456789"


def test_record_holds_every_setting_and_no_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("CSC_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("CSC_LLM_API_KEY", SECRET)
    monkeypatch.setenv("CSC_LLM_BASE_URL", "https://me:hunter2@llm.example/v1")
    monkeypatch.setenv("CSC_LLM_CONCURRENCY", "8")
    monkeypatch.setenv("CSC_SOME_TOKEN", "t0ken")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    recorded = S.record()
    assert set(S.fields().values()) <= set(recorded)
    assert recorded["CSC_WAREHOUSE"] == str(tmp_path / "wh.duckdb")
    assert recorded["CSC_RULES_MIN_TURNS"] == 3 and recorded["CSC_LLM_CONCURRENCY"] == "8"
    assert recorded["CSC_LLM_API_KEY"] == recorded["CSC_SOME_TOKEN"] == S.REDACTED
    assert recorded["CSC_LLM_BASE_URL"] == f"https://{S.REDACTED}@llm.example/v1"
    text = json.dumps(recorded)
    assert SECRET not in text and "hunter2" not in text and "t0ken" not in text
    assert "OPENAI_API_KEY" not in recorded  # not a CSC_* variable: not recorded at all


def test_a_run_records_its_settings_in_ops_runs(monkeypatch, tmp_path):
    from warehouse.db import connect
    from warehouse.runs import start_run

    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("CSC_WAREHOUSE", str(db))
    monkeypatch.setenv("CSC_LLM_API_KEY", SECRET)
    with connect() as con:
        start_run(con, "r1", "test", {}, settings=S.record())
        start_run(con, "r0", "old", {})  # no settings given: NULL, as before the column
    (row,), (old,) = (query_all(db, f"SELECT settings FROM ops.runs WHERE run_id = '{r}'")
                      for r in ("r1", "r0"))
    stored = json.loads(row[0])
    assert stored["CSC_WAREHOUSE"] == str(db) and stored["CSC_CSCONV_MAX_UTTERANCES"] == 50
    assert stored["CSC_LLM_API_KEY"] == S.REDACTED and SECRET not in row[0]
    assert old == (None,)


@pytest.mark.prefect
def test_flow_runs_record_their_settings_and_a_bad_one_refuses_the_flow(
        prefect_server, monkeypatch, tmp_path):
    from flows.ingest import ingest
    from tasks.runs import RunRefused

    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("CSC_WAREHOUSE", str(db))
    monkeypatch.setenv("CSC_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("CSC_LLM_API_KEY", SECRET)
    monkeypatch.setenv("CSC_RULES_MIN_TURNS", "2")
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": "1", "turns": []}])
    ingest(path=str(path))
    (settings,), = query_all(db, "SELECT settings FROM ops.runs WHERE status = 'completed'")
    stored = json.loads(settings)
    assert stored["CSC_RULES_MIN_TURNS"] == 2 and stored["CSC_WAREHOUSE"] == str(db)
    assert SECRET not in settings and stored["CSC_LLM_API_KEY"] == S.REDACTED

    monkeypatch.setenv("CSC_PII_MASK_HANDLES", "maybe")
    with pytest.raises(RunRefused) as refused:
        ingest(path=str(path))
    line = "CSC_PII_MASK_HANDLES=maybe must be 1 or 0 (also true/false, yes/no, on/off)"
    assert (str(refused.value), refused.value.exit_code) == (line, 2)
    monkeypatch.delenv("CSC_PII_MASK_HANDLES")  # the helpers read the settings too
    rows = query_all(db, "SELECT settings, summary->>'error' FROM ops.runs "
                         "WHERE status = 'failed'")
    assert rows == [(None, line)]  # recorded, in the warehouse its settings name


def test_the_migration_adds_the_column_and_the_analysts_doc_names_it(tmp_path):
    from warehouse.db import connect

    with connect(tmp_path / "wh.duckdb") as con:
        columns = {r[0]: r[1] for r in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'ops' AND table_name = 'runs'").fetchall()}
    assert columns["settings"] == "JSON"
    doc = (PROJECT_ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    paragraph = doc[doc.index("**`ops.runs`**"):].split("\n\n", 1)[0]
    assert re.search(r"`settings`", paragraph)


def test_rolecs_topics_are_split_on_bars_and_default_to_the_methods_seven(monkeypatch):
    from csc.rolecs.stage import RolecsConfig

    monkeypatch.setenv("CSC_ROLECS_TOPICS_EN", " card fees | loans ||")
    cfg = RolecsConfig.from_settings()
    assert cfg.topics_of("en") == ("card fees", "loans")
    assert len(cfg.topics_of("zh")) == 7 and cfg.topics_of("zh")[0] == "产品咨询"
    monkeypatch.setenv("CSC_ROLECS_MAX_UTTERANCES", "12")
    monkeypatch.setenv("CSC_ROLECS_SEED", "4")
    cfg = RolecsConfig.from_settings()
    assert (cfg.rules.max_utterances, cfg.seed) == (12, 4)
