"""LLM endpoint settings from the environment (and `.env`): one endpoint, a model per role.

    CSC_LLM_BASE_URL     https://api.openai.com/v1 | any OpenAI-compatible URL | simulator
    CSC_LLM_API_KEY      falls back to OPENAI_API_KEY
    CSC_LLM_MODEL        default model for every role
    CSC_LLM_<ROLE>_MODEL / _TEMPERATURE / _MAX_TOKENS / _TIMEOUT   per role, e.g.
                         CSC_LLM_REWRITER_MODEL=deepseek-reasoner
    CSC_LLM_CONCURRENCY  requests in flight (16); CSC_LLM_RPM, CSC_LLM_TPM optional limits
    CSC_LLM_MAX_ATTEMPTS transport attempts per call (6); CSC_LLM_MAX_REASKS (2)
    CSC_LLM_TIMEOUT      seconds per call (120), for roles without their own _TIMEOUT
    CSC_LLM_BUDGET_USD   optional cost cap per run; CSC_LLM_PRICES a YAML/JSON price table
    CSC_LLM_CACHE        response cache file (default: beside the warehouse)
    CSC_<ROLE>_VARIANT   a named prompt variant, e.g. CSC_POSTFILTER_JUDGE_VARIANT=strict
                         (a csc.settings setting, read by csc.prompts; prompts/README.md)

Only the roles a run uses need a model: `load_settings(stages=("csconv",))` requires (and
checks) the csconv roles alone; a role without a model fails when it is first asked for.
Every problem found is reported at once, one per line, in one LLMNotConfigured (a
ConfigError: exit 2). Numbers are read by csc.settings' rules, as every other CSC_* setting.
Nothing falls back to the simulator: with no endpoint configured an LLM stage stops at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from csc.settings import (
    POSITIVE,
    WHOLE_GE_0,
    WHOLE_GE_1,
    Rule,
    SettingsError,
    env_value,
    finite,
    load_dotenv,
    read_value,
)
from schemas.llm import ROLES, STAGE_ROLES, Role

SIMULATOR = "simulator"


class LLMNotConfigured(SettingsError):
    """The endpoint settings are missing or wrong; `problems` holds one line per problem.

    A ConfigError (exit 2), as a bad value of any other setting is: no endpoint set, no key,
    no model, a number out of range are all fixed by the user's settings, not by waiting."""

    what = "the LLM settings"


HOW_TO_CONFIGURE = (
    "no LLM endpoint is configured. Set CSC_LLM_BASE_URL (an OpenAI-compatible URL, e.g. "
    "https://api.openai.com/v1), CSC_LLM_API_KEY and CSC_LLM_MODEL (or CSC_LLM_<ROLE>_MODEL); "
    "or set CSC_LLM_BASE_URL=simulator to run against the offline simulator (its output is "
    "not a model's). See README, 'Configuring a real LLM endpoint'."
)

def model_setting(role: Role) -> str:
    return f"CSC_LLM_{role.value.upper()}_MODEL"


def _no_model(role: Role) -> str:
    return (f"no model for role '{role.value}': set {model_setting(role)}, or CSC_LLM_MODEL "
            "for every role")


@dataclass(frozen=True)
class RoleSettings:
    model: str
    temperature: float | None
    max_tokens: int | None
    timeout: float


@dataclass(frozen=True)
class Price:
    input_per_1m: float = 0.0
    output_per_1m: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    api_key: str = field(repr=False)
    roles: dict[Role, RoleSettings]
    concurrency: int = 16
    rpm: int | None = None
    tpm: int | None = None
    max_attempts: int = 6
    max_reasks: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    budget_usd: float | None = None
    prices: dict[str, Price] = field(default_factory=dict)
    cache_path: Path | None = None
    # The roles load_settings was asked to require (empty: not said); preflight checks these.
    required: tuple[Role, ...] = ()
    # Roles that are not usable, with why (no model, a bad value): raised when asked for.
    unusable: dict[Role, str] = field(default_factory=dict, repr=False)
    # Set when base_url is a stand-in: the simulator's random port is not what it answers by.
    identity: str | None = None

    @property
    def is_simulator(self) -> bool:
        return self.base_url == SIMULATOR

    @property
    def uses_simulator(self) -> bool:
        """Chosen by name, or pointed at a running simulator (its models are all sim-*)."""
        return self.is_simulator or (self.identity or "").startswith(SIMULATOR) or (
            bool(self.roles) and all(r.model.startswith("sim-") for r in self.roles.values()))

    @property
    def endpoint_identity(self) -> str:
        """Part of every cache key: the simulator's port changes from process to process, its
        answers do not, so it is known by its code and seed (csc.llm.sim_contract, which
        reads them without importing the simulator); a real endpoint by its URL."""
        if self.identity:
            return self.identity
        if self.is_simulator:
            from csc.llm.sim_contract import identity_from_env

            return identity_from_env()
        return self.base_url.rstrip("/")

    def role(self, role: Role) -> RoleSettings:
        """The role's settings; LLMNotConfigured (one line, naming the setting) if it has none."""
        try:
            return self.roles[role]
        except KeyError:
            raise LLMNotConfigured(self.unusable.get(role) or _no_model(role)) from None

    def price(self, model: str) -> Price:
        return self.prices.get(model, Price())

    def with_base_url(self, url: str, identity: str | None = None) -> LLMSettings:
        return replace(self, base_url=url, identity=identity or self.identity)


# a role's temperature; `none` (no temperature sent) is read before this rule
TEMPERATURE = Rule(finite, lambda v: 0 <= v <= 2, "a number from 0 to 2 (or none)")


PRICES_SHAPE = "model -> {input_per_1m, output_per_1m}, in USD per million tokens"
_PRICE_KEYS = ("input_per_1m", "output_per_1m")


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def _load_prices(spec: str | None, problems: list[str]) -> dict[str, Price]:
    """A YAML/JSON file, or inline YAML/JSON text, mapping model -> prices; problems noted."""
    if not spec:
        return {}
    path = Path(spec)
    inline = spec.lstrip().startswith("{") or "\n" in spec or ": " in spec
    where = "CSC_LLM_PRICES" if inline else f"CSC_LLM_PRICES={spec}"
    try:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
        elif inline:
            text = spec
        elif path.exists():
            problems.append(f"{where}: not a file; expected a YAML/JSON file of {PRICES_SHAPE}")
            return {}
        else:
            problems.append(f"{where}: file not found; expected a YAML/JSON file of "
                            f"{PRICES_SHAPE}")
            return {}
        data = yaml.safe_load(text)
    except OSError as exc:
        problems.append(f"{where}: cannot read it: {exc.strerror or exc}")
        return {}
    except UnicodeDecodeError:
        problems.append(f"{where}: not UTF-8 text")
        return {}
    except yaml.YAMLError as exc:
        problems.append(f"{where}: not valid YAML/JSON: {_yaml_error(exc)}")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{where}: not a mapping of {PRICES_SHAPE} (it is a "
                        f"{type(data).__name__})")
        return {}
    prices: dict[str, Price] = {}
    for model, entry in data.items():
        if not isinstance(entry, dict):
            problems.append(f"{where}: the price of '{model}' must be a mapping with "
                            f"{' and/or '.join(_PRICE_KEYS)}, not {entry!r}")
            continue
        unknown = sorted(str(k) for k in entry if k not in _PRICE_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)} for '{model}' "
                            f"(known: {', '.join(_PRICE_KEYS)})")
        values = {}
        for key in _PRICE_KEYS:
            if key not in entry:
                continue
            v = entry[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                    or v < 0:
                problems.append(f"{where}: {model}.{key}={v} must be a number >= 0")
            else:
                values[key] = float(v)
        prices[str(model)] = Price(**values)
    return prices


def roles_of(stages: Iterable[str]) -> tuple[Role, ...]:
    """The roles the given stages call (see schemas.llm.STAGE_ROLES), in a stable order."""
    stages = (stages,) if isinstance(stages, str) else tuple(stages)
    unknown = [s for s in stages if s not in STAGE_ROLES]
    if unknown:
        raise ValueError(f"unknown LLM stage(s) {', '.join(unknown)}; known: "
                         f"{', '.join(STAGE_ROLES)}")
    return tuple(dict.fromkeys(r for s in stages for r in STAGE_ROLES[s]))


def _role_settings(role: Role, default_model: str | None, default_timeout: float,
                   simulator: bool) -> tuple[RoleSettings | None, bool, list[str]]:
    """(settings, no model?, problems of its values): settings are None if it cannot be used."""
    prefix = f"CSC_LLM_{role.value.upper()}_"
    problems: list[str] = []
    model = env_value(prefix + "MODEL") or default_model or (f"sim-{role.value}" if simulator
                                                        else None)
    temp_raw = env_value(prefix + "TEMPERATURE")
    temperature = (None if temp_raw is not None and temp_raw.lower() in ("none", "null") else
                   read_value(prefix + "TEMPERATURE", TEMPERATURE, ROLES[role].temperature,
                           problems))
    max_tokens = read_value(prefix + "MAX_TOKENS", WHOLE_GE_1, ROLES[role].max_tokens, problems)
    timeout = read_value(prefix + "TIMEOUT", POSITIVE, default_timeout, problems)
    if model is None or problems:
        return None, model is None, problems
    return RoleSettings(model=model, temperature=temperature, max_tokens=max_tokens,
                        timeout=timeout), False, []


def load_settings(roles: Iterable[Role | str] | None = None, *,
                  stages: Iterable[str] | None = None) -> LLMSettings:
    """Settings from the environment; raises one LLMNotConfigured listing every problem.

    `roles` and/or `stages` (e.g. stages=("csconv",)) say which roles must have a usable model
    and settings; the other roles are loaded if they can be and fail only when asked for.
    With neither, no role is required, but some model must be set (CSC_LLM_MODEL or a
    CSC_LLM_<ROLE>_MODEL). Endpoint-wide settings are always checked.
    """
    if isinstance(roles, str):
        roles = (roles,)
    wanted: tuple[Role, ...] | None = None
    if roles is not None or stages is not None:
        wanted = tuple(dict.fromkeys(
            [Role(r) for r in (roles or ())] + list(roles_of(stages or ()))))
    load_dotenv()
    endpoint: list[str] = []  # problems, in the order they are reported
    models: list[str] = []
    values: list[str] = []
    base_url = env_value("CSC_LLM_BASE_URL")
    simulator = base_url == SIMULATOR
    api_key = (env_value("CSC_LLM_API_KEY") or env_value("OPENAI_API_KEY")
               or ("sim-key" if simulator else ""))
    if base_url is None:
        endpoint.append(HOW_TO_CONFIGURE)  # it also says what to set for the key and model
    elif not api_key:
        endpoint.append(
            f"CSC_LLM_BASE_URL is {base_url} but no key is set: set CSC_LLM_API_KEY "
            "(or OPENAI_API_KEY); use any non-empty value for endpoints without keys")
    default_model = env_value("CSC_LLM_MODEL")
    default_timeout = read_value("CSC_LLM_TIMEOUT", POSITIVE, 120.0, values)
    usable: dict[Role, RoleSettings] = {}
    unusable: dict[Role, str] = {}
    no_model: list[Role] = []
    some_model = False
    for role in Role:
        settings, model_missing, role_problems = _role_settings(
            role, default_model, default_timeout, simulator)
        some_model = some_model or not model_missing
        if settings is not None:
            usable[role] = settings
            continue
        unusable[role] = "; ".join(([_no_model(role)] if model_missing else []) + role_problems)
        if wanted is not None and role in wanted:
            no_model += [role] if model_missing else []
            values += role_problems
    if wanted:
        no_model.sort(key=wanted.index)  # in the order the stage calls them
    if base_url is not None:
        if len(no_model) == 1:
            models.append(_no_model(no_model[0]))
        elif no_model:
            models.append(
                f"no model for roles {', '.join(r.value for r in no_model)}: set CSC_LLM_MODEL "
                f"(serves every role), or per role {', '.join(map(model_setting, no_model))}")
        elif wanted is None and not some_model:
            models.append("no model is set: set CSC_LLM_MODEL (serves every role), or "
                          "CSC_LLM_<ROLE>_MODEL per role")
    concurrency = read_value("CSC_LLM_CONCURRENCY", WHOLE_GE_1, 16, values)
    rpm = read_value("CSC_LLM_RPM", WHOLE_GE_1, None, values)
    tpm = read_value("CSC_LLM_TPM", WHOLE_GE_1, None, values)
    max_attempts = read_value("CSC_LLM_MAX_ATTEMPTS", WHOLE_GE_1, 6, values)
    max_reasks = read_value("CSC_LLM_MAX_REASKS", WHOLE_GE_0, 2, values)
    budget_usd = read_value("CSC_LLM_BUDGET_USD", POSITIVE, None, values)
    prices = _load_prices(env_value("CSC_LLM_PRICES"), values)
    problems = endpoint + models + values
    if problems:
        raise LLMNotConfigured.of(problems)
    cache = env_value("CSC_LLM_CACHE")
    return LLMSettings(
        base_url=base_url,
        api_key=api_key,
        roles=usable,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        max_attempts=max_attempts,
        max_reasks=max_reasks,
        budget_usd=budget_usd,
        prices=prices,
        cache_path=Path(cache) if cache else None,
        required=wanted or (),
        unusable=unusable,
    )
