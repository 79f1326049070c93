"""LLM settings: one model for every role, only the roles of the stages that run are required,
every problem reported at once (one per line), numbers range-checked, prices files checked,
and a preflight that says which models the endpoint does serve."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

from csc.llm.gateway import EndpointError, LLMGateway, LLMRequest
from csc.llm.journal import Journal
from csc.llm.preflight import preflight, served_list
from csc.llm.settings import LLMNotConfigured, Price, load_settings
from schemas.llm import STAGE_ROLES, PrefilterVerdict, Role
from simulator import SimConfig, run_in_thread

ROOT = Path(__file__).resolve().parents[1]
URL = "https://llm.example/v1"
CSCONV = (Role.PREFILTER_JUDGE, Role.REWRITER, Role.POSTFILTER_JUDGE, Role.ANNOTATOR)
PRICES_SHAPE = "model -> {input_per_1m, output_per_1m}, in USD per million tokens"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No LLM setting from the machine or a `.env`; tests set what they need."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CSC_LLM_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)


def configure(monkeypatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def endpoint(monkeypatch, **env: str) -> None:
    configure(monkeypatch, CSC_LLM_BASE_URL=URL, CSC_LLM_API_KEY="k", **env)


def problems_of(**kw) -> list[str]:
    with pytest.raises(LLMNotConfigured) as info:
        load_settings(**kw)
    return info.value.problems


def one_problem(**kw) -> str:
    with pytest.raises(LLMNotConfigured) as info:
        load_settings(**kw)
    message = str(info.value)
    assert "\n" not in message and info.value.problems == [message]
    return message


# -- one model for every role -------------------------------------------------------------------

def test_one_model_setting_serves_every_role_and_per_role_settings_override_it(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_MODEL="qwen-72b", CSC_LLM_REWRITER_MODEL="deepseek-r1")
    s = load_settings(stages=("csconv",))
    assert s.role(Role.REWRITER).model == "deepseek-r1"
    for role in Role:
        if role is not Role.REWRITER:
            assert s.role(role).model == "qwen-72b"


def test_the_csconv_stage_map_names_the_roles_its_code_calls():
    assert STAGE_ROLES["csconv"] == CSCONV
    called = set()
    for path in (ROOT / "csc" / "csconv").glob("*.py"):
        called |= set(re.findall(r"\bRole\.([A-Z_]+)\b", path.read_text(encoding="utf-8")))
    assert called == {"PREFILTER_JUDGE", "REWRITER", "POSTFILTER_JUDGE", "ANNOTATOR"}


# -- only the roles of the stages that run ------------------------------------------------------

def test_only_the_csconv_roles_are_required(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_PREFILTER_JUDGE_MODEL="a", CSC_LLM_REWRITER_MODEL="b",
             CSC_LLM_POSTFILTER_JUDGE_MODEL="c", CSC_LLM_ANNOTATOR_MODEL="d")
    s = load_settings(stages=("csconv",))
    assert s.required == CSCONV
    assert [s.role(r).model for r in CSCONV] == ["a", "b", "c", "d"]
    with pytest.raises(LLMNotConfigured) as info:  # unused: fine until someone asks for it
        s.role(Role.PERSONA_DESCRIBER)
    assert str(info.value) == ("no model for role 'persona_describer': set "
                               "CSC_LLM_PERSONA_DESCRIBER_MODEL, or CSC_LLM_MODEL for every role")


def test_a_used_roles_missing_model_is_one_line_naming_its_setting(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_PREFILTER_JUDGE_MODEL="a", CSC_LLM_REWRITER_MODEL="b",
             CSC_LLM_POSTFILTER_JUDGE_MODEL="c")
    assert one_problem(stages=("csconv",)) == (
        "no model for role 'annotator': set CSC_LLM_ANNOTATOR_MODEL, or CSC_LLM_MODEL for "
        "every role")
    assert one_problem(stages=("annotate",)).startswith("no model for role 'annotator'")


def test_several_used_roles_without_a_model_are_one_line_naming_each_setting(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_REWRITER_MODEL="b")
    assert one_problem(stages=("csconv",)) == (
        "no model for roles prefilter_judge, postfilter_judge, annotator: set CSC_LLM_MODEL "
        "(serves every role), or per role CSC_LLM_PREFILTER_JUDGE_MODEL, "
        "CSC_LLM_POSTFILTER_JUDGE_MODEL, CSC_LLM_ANNOTATOR_MODEL")


def test_roles_can_be_required_one_by_one(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_REWRITER_MODEL="b")
    assert load_settings(roles=[Role.REWRITER]).required == (Role.REWRITER,)
    assert load_settings(roles="rewriter").role(Role.REWRITER).model == "b"
    assert "CSC_LLM_PLANNER_MODEL" in one_problem(roles=[Role.REWRITER, "planner"])
    with pytest.raises(ValueError, match="unknown LLM stage"):
        load_settings(stages=("rolecs-typo",))


def test_the_no_argument_call_does_not_fail_for_a_role_nobody_uses(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_REWRITER_MODEL="b", CSC_LLM_PLANNER_TEMPERATURE="3")
    s = load_settings()
    assert s.required == ()
    assert s.role(Role.REWRITER).model == "b"
    with pytest.raises(LLMNotConfigured) as info:
        s.role(Role.ANNOTATOR)
    assert str(info.value) == ("no model for role 'annotator': set CSC_LLM_ANNOTATOR_MODEL, or "
                               "CSC_LLM_MODEL for every role")


def test_the_no_argument_call_still_needs_some_model(monkeypatch):
    endpoint(monkeypatch)
    assert one_problem() == ("no model is set: set CSC_LLM_MODEL (serves every role), or "
                             "CSC_LLM_<ROLE>_MODEL per role")


def test_an_unused_roles_bad_value_fails_only_when_that_role_is_asked_for(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PLANNER_TEMPERATURE="3")
    s = load_settings(stages=("csconv",))
    with pytest.raises(LLMNotConfigured) as info:
        s.role(Role.PLANNER)
    assert str(info.value) == "CSC_LLM_PLANNER_TEMPERATURE=3 must be a number from 0 to 2 (or none)"
    monkeypatch.setenv("CSC_LLM_REWRITER_TEMPERATURE", "3")  # a used role's: at load time
    assert one_problem(stages=("csconv",)) == (
        "CSC_LLM_REWRITER_TEMPERATURE=3 must be a number from 0 to 2 (or none)")


def test_the_simulator_by_name_gives_every_role_its_sim_model(monkeypatch):
    configure(monkeypatch, CSC_LLM_BASE_URL="simulator")
    s = load_settings(stages=("csconv",))
    assert s.role(Role.REWRITER).model == "sim-rewriter"
    assert s.role(Role.CANDIDATE).model == "sim-candidate"
    assert s.uses_simulator


def test_no_role_with_a_model_is_not_the_simulator(monkeypatch):
    endpoint(monkeypatch)
    s = load_settings(roles=())
    assert s.roles == {} and not s.uses_simulator


def test_a_role_asked_for_at_run_time_without_a_model_stops_the_call(monkeypatch, tmp_path):
    endpoint(monkeypatch, CSC_LLM_REWRITER_MODEL="b")
    settings = load_settings()
    journal = Journal(tmp_path / "cache.sqlite")
    req = LLMRequest(Role.PREFILTER_JUDGE, [{"role": "user", "content": "x"}], item_key="d1",
                     prompt_version="t1", response_type=PrefilterVerdict)

    async def go():
        gw = LLMGateway(settings, journal, run_id="r1", stage="csconv")
        try:
            return await gw.run_all([req])
        finally:
            await gw.aclose()

    try:
        with pytest.raises(LLMNotConfigured, match="set CSC_LLM_PREFILTER_JUDGE_MODEL"):
            asyncio.run(go())
    finally:
        journal.close()


# -- every problem at once ----------------------------------------------------------------------

def test_every_problem_is_reported_at_once_one_per_line(monkeypatch):
    configure(monkeypatch, CSC_LLM_BASE_URL=URL, CSC_LLM_REWRITER_MODEL="b",
              CSC_LLM_CONCURRENCY="0", CSC_LLM_ANNOTATOR_TEMPERATURE="2.5",
              CSC_LLM_PRICES="prices.yaml")
    with pytest.raises(LLMNotConfigured) as info:
        load_settings(stages=("csconv",))
    expected = [
        f"CSC_LLM_BASE_URL is {URL} but no key is set: set CSC_LLM_API_KEY (or OPENAI_API_KEY); "
        "use any non-empty value for endpoints without keys",
        "no model for roles prefilter_judge, postfilter_judge, annotator: set CSC_LLM_MODEL "
        "(serves every role), or per role CSC_LLM_PREFILTER_JUDGE_MODEL, "
        "CSC_LLM_POSTFILTER_JUDGE_MODEL, CSC_LLM_ANNOTATOR_MODEL",
        "CSC_LLM_ANNOTATOR_TEMPERATURE=2.5 must be a number from 0 to 2 (or none)",
        "CSC_LLM_CONCURRENCY=0 must be a whole number >= 1",
        f"CSC_LLM_PRICES=prices.yaml: file not found; expected a YAML/JSON file of {PRICES_SHAPE}",
    ]
    assert info.value.problems == expected
    assert str(info.value).splitlines() == ["5 problems with the LLM settings:"] + [
        "  " + p for p in expected]


def test_no_endpoint_is_reported_with_the_other_problems(monkeypatch):
    configure(monkeypatch, CSC_LLM_MAX_REASKS="-1")
    problems = problems_of(stages=("csconv",))
    assert len(problems) == 2
    assert problems[0].startswith("no LLM endpoint is configured. Set CSC_LLM_BASE_URL")
    assert problems[1] == "CSC_LLM_MAX_REASKS=-1 must be a whole number >= 0"


# -- numbers are range-checked ------------------------------------------------------------------

WHOLE_1 = "a whole number >= 1"
WHOLE_0 = "a whole number >= 0"
POSITIVE = "a number > 0"
TEMP = "a number from 0 to 2 (or none)"

BAD = [
    ("CSC_LLM_CONCURRENCY", "0", WHOLE_1), ("CSC_LLM_CONCURRENCY", "-3", WHOLE_1),
    ("CSC_LLM_CONCURRENCY", "1.5", WHOLE_1), ("CSC_LLM_CONCURRENCY", "many", WHOLE_1),
    ("CSC_LLM_RPM", "0", WHOLE_1), ("CSC_LLM_TPM", "0", WHOLE_1),
    ("CSC_LLM_MAX_ATTEMPTS", "0", WHOLE_1), ("CSC_LLM_MAX_REASKS", "-1", WHOLE_0),
    ("CSC_LLM_BUDGET_USD", "0", POSITIVE), ("CSC_LLM_BUDGET_USD", "-5", POSITIVE),
    ("CSC_LLM_BUDGET_USD", "nan", POSITIVE), ("CSC_LLM_BUDGET_USD", "inf", POSITIVE),
    ("CSC_LLM_TIMEOUT", "0", POSITIVE), ("CSC_LLM_REWRITER_TIMEOUT", "0", POSITIVE),
    ("CSC_LLM_REWRITER_TIMEOUT", "-1", POSITIVE),
    ("CSC_LLM_REWRITER_TEMPERATURE", "-0.01", TEMP), ("CSC_LLM_REWRITER_TEMPERATURE", "2.01", TEMP),
    ("CSC_LLM_REWRITER_TEMPERATURE", "hot", TEMP),
    ("CSC_LLM_ANNOTATOR_MAX_TOKENS", "0", WHOLE_1),
]


@pytest.mark.parametrize(("name", "value", "rule"), BAD)
def test_a_value_out_of_range_is_one_line_saying_the_valid_range(monkeypatch, name, value, rule):
    endpoint(monkeypatch, CSC_LLM_MODEL="m", **{name: value})
    assert one_problem(stages=("csconv",)) == f"{name}={value} must be {rule}"


GOOD = [
    ("CSC_LLM_CONCURRENCY", "1", lambda s: s.concurrency, 1),
    ("CSC_LLM_RPM", "1", lambda s: s.rpm, 1),
    ("CSC_LLM_TPM", "1", lambda s: s.tpm, 1),
    ("CSC_LLM_MAX_ATTEMPTS", "1", lambda s: s.max_attempts, 1),
    ("CSC_LLM_MAX_REASKS", "0", lambda s: s.max_reasks, 0),
    ("CSC_LLM_BUDGET_USD", "0.01", lambda s: s.budget_usd, 0.01),
    ("CSC_LLM_TIMEOUT", "0.5", lambda s: s.role(Role.ANNOTATOR).timeout, 0.5),
    ("CSC_LLM_REWRITER_TIMEOUT", "0.5", lambda s: s.role(Role.REWRITER).timeout, 0.5),
    ("CSC_LLM_REWRITER_TEMPERATURE", "0", lambda s: s.role(Role.REWRITER).temperature, 0.0),
    ("CSC_LLM_REWRITER_TEMPERATURE", "2", lambda s: s.role(Role.REWRITER).temperature, 2.0),
    ("CSC_LLM_ANNOTATOR_TEMPERATURE", "None", lambda s: s.role(Role.ANNOTATOR).temperature,
     None),
    ("CSC_LLM_ANNOTATOR_MAX_TOKENS", "1", lambda s: s.role(Role.ANNOTATOR).max_tokens, 1),
]


@pytest.mark.parametrize(("name", "value", "get", "expected"), GOOD)
def test_the_boundary_values_are_accepted(monkeypatch, name, value, get, expected):
    endpoint(monkeypatch, CSC_LLM_MODEL="m", **{name: value})
    assert get(load_settings(stages=("csconv",))) == expected


def test_defaults_when_nothing_numeric_is_set(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_MODEL="m")
    s = load_settings(stages=("csconv",))
    assert (s.concurrency, s.rpm, s.tpm, s.max_attempts, s.max_reasks, s.budget_usd) == (
        16, None, None, 6, 2, None)
    assert s.role(Role.REWRITER).temperature is None and s.role(Role.PLANNER).temperature == 0.8
    assert s.role(Role.ANNOTATOR).timeout == 120.0


# -- the prices file ----------------------------------------------------------------------------

def test_a_missing_prices_file_is_one_line(monkeypatch):
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PRICES="prices.yaml")
    assert one_problem() == ("CSC_LLM_PRICES=prices.yaml: file not found; expected a YAML/JSON "
                             f"file of {PRICES_SHAPE}")


def test_a_prices_folder_is_not_a_file(monkeypatch, tmp_path):
    (tmp_path / "prices").mkdir()
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PRICES="prices")
    assert one_problem() == (f"CSC_LLM_PRICES=prices: not a file; expected a YAML/JSON file of "
                             f"{PRICES_SHAPE}")


@pytest.mark.parametrize(("content", "expected"), [
    ("- gpt-4o\n- 2.5\n", f"not a mapping of {PRICES_SHAPE} (it is a list)"),
    ("just text\n", f"not a mapping of {PRICES_SHAPE} (it is a str)"),
    ("gpt-4o: {input: 2.5}\n",
     "unknown key(s) input for 'gpt-4o' (known: input_per_1m, output_per_1m)"),
    ("gpt-4o: {input_per_1m: -0.01}\n", "gpt-4o.input_per_1m=-0.01 must be a number >= 0"),
    ("gpt-4o: {output_per_1m: cheap}\n", "gpt-4o.output_per_1m=cheap must be a number >= 0"),
    ("gpt-4o: 2.5\n", "the price of 'gpt-4o' must be a mapping with input_per_1m and/or "
                      "output_per_1m, not 2.5"),
])
def test_a_malformed_prices_file_is_one_line(monkeypatch, tmp_path, content, expected):
    (tmp_path / "prices.yaml").write_text(content, encoding="utf-8")
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PRICES="prices.yaml")
    assert one_problem() == f"CSC_LLM_PRICES=prices.yaml: {expected}"


def test_a_prices_file_that_is_not_yaml_is_one_line_with_where(monkeypatch, tmp_path):
    (tmp_path / "prices.yaml").write_text("gpt-4o: {input_per_1m: 1}\nother: [\n")
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PRICES="prices.yaml")
    message = one_problem()
    assert message.startswith("CSC_LLM_PRICES=prices.yaml: not valid YAML/JSON: ")
    assert "line 3" in message  # the unclosed list runs into the end of the file


def test_every_prices_problem_is_listed(monkeypatch, tmp_path):
    (tmp_path / "prices.yaml").write_text("a: {input: 1, output_per_1m: -2}\nb: {}\n")
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PRICES="prices.yaml")
    assert problems_of() == [
        "CSC_LLM_PRICES=prices.yaml: unknown key(s) input for 'a' (known: input_per_1m, "
        "output_per_1m)",
        "CSC_LLM_PRICES=prices.yaml: a.output_per_1m=-2 must be a number >= 0"]


def test_good_prices_files_and_inline_text_load(monkeypatch, tmp_path):
    (tmp_path / "prices.json").write_text(json.dumps(
        {"gpt-4o": {"input_per_1m": 2.5, "output_per_1m": 10}, "free": {}}))
    endpoint(monkeypatch, CSC_LLM_MODEL="m", CSC_LLM_PRICES="prices.json")
    s = load_settings()
    assert s.price("gpt-4o") == Price(2.5, 10.0) and s.price("free") == Price(0.0, 0.0)
    assert s.price("gpt-4o").cost(1_000_000, 100_000) == pytest.approx(3.5)
    monkeypatch.setenv("CSC_LLM_PRICES", "{qwen: {input_per_1m: 0, output_per_1m: 1.5}}")
    assert load_settings().price("qwen") == Price(0.0, 1.5)
    (tmp_path / "empty.yaml").write_text("")
    monkeypatch.setenv("CSC_LLM_PRICES", "empty.yaml")
    assert load_settings().prices == {}


# -- preflight: which models the endpoint serves ------------------------------------------------

SIM_MODELS = ("sim-annotator, sim-candidate, sim-customer, sim-customer_assistant, "
              "sim-default, sim-dialogue_judge, sim-pairwise_judge, sim-persona_describer, "
              "sim-planner, sim-postfilter_judge, sim-prefilter_judge, sim-rewriter, "
              "sim-supporter, sim-supporter_assistant, sim-turn_judge")


@pytest.fixture(scope="module")
def sim():
    with run_in_thread(SimConfig(seed=5)) as running:
        yield running


def test_preflight_names_the_missing_model_and_lists_the_served_ones(monkeypatch, sim):
    configure(monkeypatch, CSC_LLM_BASE_URL=sim.base_url, CSC_LLM_API_KEY="any",
              CSC_LLM_MODEL="gpt-4o")
    with pytest.raises(EndpointError) as info:
        preflight(load_settings(stages=("csconv",)))
    assert str(info.value) == (
        f"the endpoint {sim.base_url.rstrip('/')} does not serve model(s) gpt-4o (for "
        f"prefilter_judge, rewriter, postfilter_judge, annotator); it serves {SIM_MODELS}. "
        "Set CSC_LLM_MODEL / CSC_LLM_<ROLE>_MODEL to served ones")


def test_preflight_checks_only_the_roles_of_the_stages_that_run(monkeypatch, sim):
    configure(monkeypatch, CSC_LLM_BASE_URL=sim.base_url, CSC_LLM_API_KEY="any",
              CSC_LLM_MODEL="sim-default", CSC_LLM_PLANNER_MODEL="gpt-4o")
    info = preflight(load_settings(stages=("csconv",)))
    assert info["models"] == ["sim-default"]
    assert info["roles"] == ["prefilter_judge", "rewriter", "postfilter_judge", "annotator"]
    assert info["simulator"] is False  # the planner's model is not a sim-* one
    with pytest.raises(EndpointError, match=r"does not serve model\(s\) gpt-4o \(for planner\)"):
        preflight(load_settings(stages=("csconv",)), roles=[Role.PLANNER])
    monkeypatch.delenv("CSC_LLM_PLANNER_MODEL")
    assert preflight(load_settings(stages=("csconv",)))["simulator"] is True


def test_preflight_of_a_role_without_a_model_names_its_setting(monkeypatch, sim):
    configure(monkeypatch, CSC_LLM_BASE_URL=sim.base_url, CSC_LLM_API_KEY="any",
              CSC_LLM_REWRITER_MODEL="sim-default")
    with pytest.raises(LLMNotConfigured, match="set CSC_LLM_ANNOTATOR_MODEL"):
        preflight(load_settings(), roles=[Role.REWRITER, Role.ANNOTATOR])


def test_a_long_list_of_served_models_is_cut_short():
    names = [f"m{i:03d}" for i in range(250)]
    assert served_list(reversed(names)) == (
        "it serves m000, m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012, "
        "m013, m014, m015, m016, m017, m018, m019 and 230 more")
    assert served_list(["b", "a"]) == "it serves a, b"
    assert served_list(names[:20]).endswith("m019")  # exactly the limit: nothing cut
    assert served_list([]) == "it lists no models"
