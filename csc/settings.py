"""Every CSC_* setting outside the LLM endpoint's, in one typed object, validated at once.

`load()` reads the environment (and `.env` in the working directory, which never overrides the
real environment), checks every value and raises one SettingsError (a ConfigError: exit 2)
listing every bad one, one line each: `CSC_X=abc must be <what a valid value is>`. The CLI
calls it before any command runs, and every flow as it starts (tasks.runs.refuses_bad_config),
so a typo stops a run before it does anything. The modules read the values through
`current()`: the object `load()` validated, loaded again only when the environment has changed
since (a test's monkeypatch.setenv, the CLI's --warehouse), so there is nothing to reset by
hand; `reset()` forgets it (a test that rewrites `.env`). `record()` is what a run stores in
ops.runs.settings: the effective values, and every other CSC_* variable as set, with secrets
redacted.

The LLM endpoint settings (CSC_LLM_*) keep their own shape (csc.llm.settings.LLMSettings:
a model per role, endpoint checks) and read their values with the same `Rule`s and
`read_value`, so a bad number reads alike in both. The simulator's CSC_SIM_* are its own.

The settings (env name: default):

    CSC_WAREHOUSE              warehouse/csc.duckdb in the project: the DuckDB file
    CSC_OUT                    out/ beside the warehouse: reports and exports
    CSC_WAREHOUSE_WAIT_S       300: seconds a writer waits for a busy warehouse (0: no wait)
    CSC_DROP_FOLDER            none: the folder a run ingests (checked when a run needs it)
    CSC_SOURCE_MAP             none: business area -> released class map for exports
    CSC_PROMPTS_DIR            prompts/ in the project: the prompt templates
    CSC_<ROLE>_VARIANT         none: a named prompt variant per role (prompts/README.md)
    CSC_MAX_RECORD_BYTES       none (the source config's): record size cap for every source
    CSC_MAX_UTTERANCE_CHARS    none (the source config's): utterance length cap
    CSC_PII_MASK_HANDLES       1: mask @handles (0/false/no/off keeps them)
    CSC_RULES_<THRESHOLD>      the §3.2 rule thresholds (csc.rules.RuleConfig)
    CSC_CSCONV_MIN/MAX_UTTERANCES, CSC_CSCONV_FAITHFUL_ZH/EN   the post-filter's bounds
    CSC_NIGHTLY_CRON, CSC_NIGHTLY_TZ   '0 2 * * *' in UTC: the served nightly's schedule
    CSC_ROLECS_PERSONAS        samples/personas/personas.jsonl: RoleCS persona profiles
    CSC_ROLECS_TOPICS_ZH/EN    the 7 topics of csc-method §4: topics separated by '|'
    CSC_ROLECS_SEED            0: the order in which scenarios are drawn
    CSC_ROLECS_MAX_UTTERANCES  50: a simulated dialogue's length cap
    CSC_EVAL_REFERENCE_MODEL   strategy-prior: the registry model every other model's
                               replies are compared with (pairwise judge, win_rate)
    CSC_FINETUNE_MIN_NEW_DIALOGUES  200: accepted dialogues in no export yet that make a
                               fine-tune export due (docs/finetune.md)
    CSC_FINETUNE_MAX_TOKENS    16000: estimated tokens one fine-tuning example may hold
    CSC_FINETUNE_VALIDATION_SHARE  0.1: the share of dialogues in the validation split
    CSC_FINETUNE_SEED          0: the seed of the train/validation split
    CSC_FINETUNE_POLL_S        10: seconds before a fine-tune job's second poll, doubled after
                               each poll up to CSC_FINETUNE_POLL_MAX_S (300)
    CSC_FINETUNE_TIMEOUT_S     21600: seconds one run waits for a job before cancelling it
    CSC_RUN_WAIT_S             21600: seconds a run waits for another process's run on the
                               same warehouse to finish before it is refused (0: refuse at once)
    CSC_FINETUNE_PROVIDER      local: who trains a new export in the nightly (local: the
                               CPU classifier; openai: the endpoint's fine-tuning API; off)
    CSC_FINETUNE_BASE_MODEL    the model a job fine-tunes (default: retrieval-tfidf for local,
                               the endpoint's candidate model for openai)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, create_model, model_validator
from pydantic_core import PydanticCustomError, PydanticUseDefault, core_schema
from pydantic_settings import BaseSettings, SettingsConfigDict

from csc.errors import ConfigError
from csc.paths import PROJECT_ROOT
from schemas.llm import Role

PREFIX = "CSC_"


# -- one reader of values ---------------------------------------------------------------------

def finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


@dataclass(frozen=True)
class Rule:
    """How a setting's text becomes its value, and what a valid value is, said in the one
    line a bad value gets: `CSC_X=abc must be <text>`. Also pydantic metadata: a field
    annotated with a Rule is read (and refused) by it, so both kinds of settings read alike."""

    cast: Callable[[str], Any]
    valid: Callable[[Any], bool]
    text: str

    def parse(self, raw: str) -> Any:
        """The value of `raw` (stripped, not empty); ValueError saying what is valid."""
        try:
            value = self.cast(raw)
        except (ValueError, ArithmeticError):
            raise ValueError(self.text) from None
        if not self.valid(value):
            raise ValueError(self.text)
        return value

    def problem(self, name: str, raw: Any) -> str:
        return f"{name}={str(raw).strip()} must be {self.text}"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self._before, handler(source))

    def _before(self, value: Any) -> Any:
        if not isinstance(value, str):  # a default, or a value given in code
            return value
        raw = value.strip()
        if not raw:  # set but empty: as if unset
            raise PydanticUseDefault()
        return self.parse(raw)


def env_value(name: str) -> str | None:
    """The variable's text, stripped; None when unset or blank."""
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def read_value(name: str, rule: Rule, default: Any, problems: list[str]) -> Any:
    """The setting's value if set and valid; otherwise the default, with a problem noted.
    For settings whose names are made at run time (CSC_LLM_<ROLE>_TIMEOUT)."""
    raw = env_value(name)
    if raw is None:
        return default
    try:
        return rule.parse(raw)
    except ValueError:
        problems.append(rule.problem(name, raw))
        return default


_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
_VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _switch(raw: str) -> bool:
    folded = raw.lower()
    if folded not in _TRUE | _FALSE:
        raise ValueError(raw)
    return folded in _TRUE


def _variant(raw: str) -> str | None:
    name = raw.lower()
    if name == "default":
        return None
    if not _VARIANT_NAME.match(name) or name in ("zh", "en"):
        raise ValueError(raw)
    return name


def _time_zone(raw: str) -> bool:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


DEFAULT_CRON = "0 2 * * *"


def _cron(raw: str) -> bool:
    if raw == DEFAULT_CRON:
        return True
    from prefect.schedules import Cron  # only for a cron someone set: Prefect is slow to load

    try:
        Cron(raw)
    except ValueError:
        return False
    return True


def _always(_: Any) -> bool:
    return True


WHOLE_GE_1 = Rule(int, lambda v: v >= 1, "a whole number >= 1")
WHOLE_GE_0 = Rule(int, lambda v: v >= 0, "a whole number >= 0")
POSITIVE = Rule(finite, lambda v: v > 0, "a number > 0")
NUMBER_GE_0 = Rule(finite, lambda v: v >= 0, "a number >= 0")
SHARE = Rule(finite, lambda v: 0 <= v <= 1, "a number from 0 to 1")
SECONDS = Rule(finite, lambda v: v >= 0, "a number of seconds >= 0 (0: do not wait)")
SWITCH = Rule(_switch, _always, "1 or 0 (also true/false, yes/no, on/off)")
PATH = Rule(lambda raw: Path(raw).expanduser(), _always, "a path")
VARIANT = Rule(_variant, _always, "a prompt variant name (lower-case letters, digits, '-' or "
                                  "'_', not zh or en), or default")
TIME_ZONE = Rule(str, _time_zone, "a time zone name (e.g. UTC, Europe/Berlin, Asia/Shanghai)")
TOPICS = Rule(str, lambda v: any(t.strip() for t in v.split("|")),
              "topics separated by '|' (at least one)")
MODEL_NAME = Rule(str, lambda v: bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", v)),
                  "a model name of the registry (1-64 letters, digits or . _ + -)")
HOLDOUT = Rule(finite, lambda v: 0 <= v < 1, "a number from 0 to below 1 (the train split is "
                                              "never empty)")
FINETUNE_PROVIDER = Rule(str.lower, lambda v: v in ("local", "openai", "off"),
                         "local, openai or off")
CRON = Rule(str, _cron, "a cron expression (minute hour day month weekday, e.g. '0 2 * * *')")


# -- the settings -----------------------------------------------------------------------------

# Pairs whose first must not be above the second.
ORDERED = (("rules_min_turns", "rules_max_turns"),
           ("csconv_min_utterances", "csconv_max_utterances"),
           ("finetune_poll_s", "finetune_poll_max_s"))


def _shown(value: float) -> str:
    """A number as the user would write it: 20, not 20.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


class _Settings(BaseSettings):
    """The fields a CSC_<NAME> variable sets; the role variants are added below. Defaults are
    the documented ones; csc.rules.RuleConfig and csc.csconv.postfilter.PostfilterConfig hold
    the same (tests/test_settings.py compares them)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, frozen=True,
                                      extra="forbid")

    # where things are
    warehouse: Annotated[Path, PATH] = PROJECT_ROOT / "warehouse" / "csc.duckdb"
    out: Annotated[Path | None, PATH] = None
    warehouse_wait_s: Annotated[float, SECONDS] = 300.0
    # how long a run waits for another process's run on the same warehouse to end before it
    # is refused (warehouse.runs): two flows started together both finish, one after the other
    run_wait_s: Annotated[float, SECONDS] = 21_600.0
    drop_folder: Annotated[Path | None, PATH] = None
    source_map: Annotated[Path | None, PATH] = None
    prompts_dir: Annotated[Path, PATH] = PROJECT_ROOT / "prompts"
    # ingest
    max_record_bytes: Annotated[int | None, WHOLE_GE_1] = None
    max_utterance_chars: Annotated[int | None, WHOLE_GE_1] = None
    pii_mask_handles: Annotated[bool, SWITCH] = True
    rules_min_turns: Annotated[int, WHOLE_GE_0] = 3
    rules_max_turns: Annotated[int, WHOLE_GE_0] = 30
    rules_max_utterance_chars_zh: Annotated[int, WHOLE_GE_0] = 500
    rules_max_utterance_chars_en: Annotated[int, WHOLE_GE_0] = 1800
    rules_supporter_to_customer_max: Annotated[float, NUMBER_GE_0] = 2.0
    rules_min_customer_long_share: Annotated[float, NUMBER_GE_0] = 0.7
    rules_customer_long_chars: Annotated[int, WHOLE_GE_0] = 3
    # csconv post-filter
    csconv_min_utterances: Annotated[int, WHOLE_GE_0] = 10
    csconv_max_utterances: Annotated[int, WHOLE_GE_0] = 50
    csconv_faithful_zh: Annotated[float, SHARE] = 0.20
    csconv_faithful_en: Annotated[float, SHARE] = 0.30
    # rolecs
    rolecs_personas: Annotated[Path | None, PATH] = None
    rolecs_topics_zh: Annotated[str | None, TOPICS] = None
    rolecs_topics_en: Annotated[str | None, TOPICS] = None
    rolecs_seed: Annotated[int, WHOLE_GE_0] = 0
    rolecs_max_utterances: Annotated[int, WHOLE_GE_1] = 50
    # evaluation: a YAML registry of the models to evaluate (csc/eval/registry.py); unset:
    # the offline baselines and the endpoint's candidate model
    eval_models: Annotated[Path | None, PATH] = None
    eval_resamples: Annotated[int, WHOLE_GE_0] = 1000
    # the model the pairwise judge compares every other model with (win_rate): a registry name
    eval_reference_model: Annotated[str, MODEL_NAME] = "strategy-prior"
    # fine-tune exports (csc/finetune, docs/finetune.md)
    finetune_min_new_dialogues: Annotated[int, WHOLE_GE_1] = 200
    finetune_max_tokens: Annotated[int, WHOLE_GE_1] = 16_000
    finetune_validation_share: Annotated[float, HOLDOUT] = 0.1
    finetune_seed: Annotated[int, WHOLE_GE_0] = 0
    # fine-tune jobs at a provider (csc/finetune/jobs.py): the first pause between polls,
    # doubled up to the longest, and the most one run waits before it cancels the job
    finetune_poll_s: Annotated[float, POSITIVE] = 10.0
    finetune_poll_max_s: Annotated[float, POSITIVE] = 300.0
    finetune_timeout_s: Annotated[float, POSITIVE] = 21_600.0
    # who trains an export in the nightly, and on what (None: the provider's own default)
    finetune_provider: Annotated[str, FINETUNE_PROVIDER] = "local"
    finetune_base_model: Annotated[str | None, MODEL_NAME] = None
    # the served schedule
    nightly_cron: Annotated[str, CRON] = DEFAULT_CRON
    nightly_tz: Annotated[str, TIME_ZONE] = "UTC"

    @model_validator(mode="after")
    def _in_order(self) -> _Settings:
        for low, high in ORDERED:
            a, b = getattr(self, low), getattr(self, high)
            if a > b:
                raise PydanticCustomError(
                    "csc_order", "{line}",
                    {"line": f"{env_name(low)}={_shown(a)} must be <= {env_name(high)}, "
                             f"which is {_shown(b)}",
                     "fields": (low, high)})
        return self

    def rolecs_topics(self, language: str) -> tuple[str, ...] | None:
        """The topics set for `language` (None: the method's seven)."""
        raw = getattr(self, f"rolecs_topics_{language}", None)
        return tuple(t.strip() for t in raw.split("|") if t.strip()) if raw else None

    def variant(self, role: Role) -> str | None:
        """The prompt variant chosen for `role` (None: the default prompt)."""
        return getattr(self, variant_field(role))


def variant_field(role: Role) -> str:
    return f"{role.value}_variant"


Settings = create_model(
    "Settings", __base__=_Settings, __module__=__name__,
    __doc__="Every CSC_* setting outside the LLM endpoint's; build it with load().",
    **{variant_field(r): (Annotated[str | None, VARIANT], None) for r in Role})


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def fields() -> dict[str, str]:
    """Field name -> the variable that sets it, for every setting."""
    return {name: env_name(name) for name in Settings.model_fields}


def rule_of(field: str) -> Rule:
    return next(m for m in Settings.model_fields[field].metadata if isinstance(m, Rule))


def default_of(field: str) -> Any:
    return Settings.model_fields[field].default


class SettingsError(ConfigError):
    """Settings with values we cannot use; `problems` holds one line per bad value, and
    `settings` the object with the defaults in their place (to name the warehouse when
    recording the refused run)."""

    what = "the settings"

    def __init__(self, message: str, problems: list[str] | None = None,
                 settings: Any = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems else [message]
        self.settings = settings

    @classmethod
    def of(cls, problems: list[str], settings: Any = None) -> SettingsError:
        if len(problems) == 1:
            return cls(problems[0], problems, settings)
        lines = "\n".join(f"  {p}" for p in problems)
        return cls(f"{len(problems)} problems with {cls.what}:\n{lines}", problems, settings)


def load_dotenv(path: Path = Path(".env")) -> None:
    """Read `.env` in the working directory without overriding the real environment."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def _problem(error: Any) -> tuple[tuple[str, ...], str]:
    """(the fields to fall back to their defaults, the line) of one validation error."""
    if error["type"] == "csc_order":
        return tuple(error["ctx"]["fields"]), error["msg"]
    field = str(error["loc"][0])
    return (field,), rule_of(field).problem(env_name(field), error["input"])


_cache: tuple[tuple, Any] | None = None


@cache
def _watched() -> tuple[str, ...]:
    return tuple(env_name(field) for field in Settings.model_fields)


def _fingerprint() -> tuple:
    """What the settings are made of: the working directory (for `.env`) and each setting's
    variable. Only those are read: `current()` runs on every LLM call (prompt variants), and
    walking the whole environment there cost ~1.7 ms a call on the stage's event loop."""
    get = os.environ.get
    return os.getcwd(), tuple(get(name) for name in _watched())


def load() -> Settings:
    """The settings from the environment and `.env`, every value checked; one SettingsError
    listing every bad one (one line each) otherwise."""
    global _cache
    load_dotenv()
    problems: list[str] = []
    fallback: dict[str, Any] = {}
    while True:  # each pass puts at least one more bad setting back to its default
        try:
            settings = Settings(**fallback)
            break
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                names, line = _problem(error)
                if all(n in fallback for n in names):  # a default refused: a bug here
                    raise
                problems.append(line)
                fallback |= {n: default_of(n) for n in names}
    if problems:
        raise SettingsError.of(problems, settings)
    _cache = (_fingerprint(), settings)
    return settings


def current() -> Settings:
    """The validated settings; loaded again (and so checked again) only when the environment
    or the working directory has changed since."""
    cached = _cache
    if cached is not None and cached[0] == _fingerprint():
        return cached[1]
    return load()


def reset() -> None:
    """Forget the loaded settings (for tests that change `.env`)."""
    global _cache
    _cache = None


# -- what a run records -----------------------------------------------------------------------

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)
_URL_USER = re.compile(r"(://)[^/@\s]+@")


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def redact(name: str, value: Any) -> Any:
    """A value safe to store: none of a variable named like a secret, no password in a URL."""
    if _SECRET_NAME.search(name):
        return REDACTED
    return _URL_USER.sub(rf"\1{REDACTED}@", value) if isinstance(value, str) else value


def record(settings: Any = None, environ: Iterable[tuple[str, str]] | None = None) -> dict:
    """What ops.runs.settings holds: every setting's effective value by its variable's name,
    and every other CSC_* variable of the environment as set (CSC_LLM_*, CSC_SIM_*), with
    secrets (names with KEY, TOKEN, SECRET, PASSWORD) redacted."""
    settings = settings if settings is not None else current()
    values = {env_name(f): _plain(getattr(settings, f)) for f in Settings.model_fields}
    for name, value in (environ if environ is not None else os.environ.items()):
        if name.startswith(PREFIX) and name not in values:
            values[name] = value
    return {name: redact(name, values[name]) for name in sorted(values)}
