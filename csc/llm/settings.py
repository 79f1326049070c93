"""LLM endpoint settings from the environment (and `.env`): one endpoint, a model per role.

    CSC_LLM_BASE_URL     https://api.openai.com/v1 | any OpenAI-compatible URL | simulator
    CSC_LLM_API_KEY      falls back to OPENAI_API_KEY
    CSC_LLM_MODEL        default model for every role
    CSC_LLM_<ROLE>_MODEL / _TEMPERATURE / _MAX_TOKENS / _TIMEOUT   per role, e.g.
                         CSC_LLM_REWRITER_MODEL=deepseek-reasoner
    CSC_LLM_CONCURRENCY  requests in flight (16); CSC_LLM_RPM, CSC_LLM_TPM optional limits
    CSC_LLM_MAX_ATTEMPTS transport attempts per call (6); CSC_LLM_MAX_REASKS (2)
    CSC_LLM_BUDGET_USD   optional cost cap per run; CSC_LLM_PRICES a YAML/JSON price table
    CSC_LLM_CACHE        response cache file (default: beside the warehouse)

Nothing falls back to the simulator: with no endpoint configured an LLM stage stops at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from schemas.llm import Role

SIMULATOR = "simulator"


class LLMNotConfigured(RuntimeError):
    """No endpoint (or no model for a role) was configured."""


HOW_TO_CONFIGURE = (
    "no LLM endpoint is configured. Set CSC_LLM_BASE_URL (an OpenAI-compatible URL, e.g. "
    "https://api.openai.com/v1), CSC_LLM_API_KEY and CSC_LLM_MODEL (or CSC_LLM_<ROLE>_MODEL); "
    "or set CSC_LLM_BASE_URL=simulator to run against the offline simulator (its output is "
    "not a model's). See README, 'Configuring a real LLM endpoint'."
)

# Defaults that follow the paper where it says something: all RoleCS roles at 0.8, the
# rewriter (a reasoning model) without a temperature.
_ROLE_TEMPERATURE: dict[Role, float | None] = {
    Role.REWRITER: None, Role.PREFILTER_JUDGE: 0.0, Role.POSTFILTER_JUDGE: 0.0,
    Role.ANNOTATOR: 0.0, Role.DIALOGUE_JUDGE: 0.0, Role.TARGET: 0.0,
    Role.PERSONA_DESCRIBER: 0.8, Role.PLANNER: 0.8, Role.SUPPORTER_ASSISTANT: 0.8,
    Role.SUPPORTER: 0.8, Role.CUSTOMER_ASSISTANT: 0.8, Role.CUSTOMER: 0.8,
}


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

    @property
    def is_simulator(self) -> bool:
        return self.base_url == SIMULATOR

    @property
    def uses_simulator(self) -> bool:
        """Chosen by name, or pointed at a running simulator (its models are all sim-*)."""
        return self.is_simulator or all(r.model.startswith("sim-") for r in self.roles.values())

    @property
    def endpoint_identity(self) -> str:
        """Part of every cache key: the simulator's port changes, its answers do not."""
        return SIMULATOR if self.is_simulator else self.base_url.rstrip("/")

    def role(self, role: Role) -> RoleSettings:
        return self.roles[role]

    def price(self, model: str) -> Price:
        return self.prices.get(model, Price())

    def with_base_url(self, url: str) -> LLMSettings:
        return replace(self, base_url=url)


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _number(name: str, cast, default):
    raw = _env(name)
    if raw is None:
        return default
    try:
        return cast(raw)
    except ValueError:
        raise LLMNotConfigured(f"{name}={raw!r} is not a valid {cast.__name__}") from None


def _load_prices(spec: str | None) -> dict[str, Price]:
    if not spec:
        return {}
    try:
        text = Path(spec).read_text(encoding="utf-8") if Path(spec).is_file() else spec
        data = yaml.safe_load(text) if not text.lstrip().startswith("{") else json.loads(text)
        return {model: Price(**p) for model, p in (data or {}).items()}
    except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
        raise LLMNotConfigured(
            f"CSC_LLM_PRICES must be a YAML/JSON file or text mapping model -> "
            f"{{input_per_1m, output_per_1m}}: {exc}") from None


def _load_dotenv() -> None:
    """Read `.env` in the working directory without overriding the real environment."""
    path = Path(".env")
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def load_settings() -> LLMSettings:
    """Settings from the environment; raises LLMNotConfigured with what to set."""
    _load_dotenv()
    base_url = _env("CSC_LLM_BASE_URL")
    if base_url is None:
        raise LLMNotConfigured(HOW_TO_CONFIGURE)
    simulator = base_url == SIMULATOR
    api_key = _env("CSC_LLM_API_KEY") or _env("OPENAI_API_KEY") or ("sim-key" if simulator else "")
    if not api_key:
        raise LLMNotConfigured(
            f"CSC_LLM_BASE_URL is {base_url} but no key is set: set CSC_LLM_API_KEY "
            "(or OPENAI_API_KEY); use any non-empty value for endpoints without keys")
    default_model = _env("CSC_LLM_MODEL")
    roles: dict[Role, RoleSettings] = {}
    for role in Role:
        prefix = f"CSC_LLM_{role.value.upper()}_"
        model = _env(prefix + "MODEL") or default_model or (f"sim-{role.value}" if simulator
                                                            else None)
        if model is None:
            raise LLMNotConfigured(
                f"no model for role '{role.value}': set CSC_LLM_MODEL, or {prefix}MODEL")
        temp_raw = _env(prefix + "TEMPERATURE")
        temperature = (None if temp_raw in ("none", "null") else
                       _number(prefix + "TEMPERATURE", float, _ROLE_TEMPERATURE[role]))
        roles[role] = RoleSettings(
            model=model,
            temperature=temperature,
            max_tokens=_number(prefix + "MAX_TOKENS", int, None),
            timeout=_number(prefix + "TIMEOUT", float, _number("CSC_LLM_TIMEOUT", float, 120.0)),
        )
    cache = _env("CSC_LLM_CACHE")
    return LLMSettings(
        base_url=base_url,
        api_key=api_key,
        roles=roles,
        concurrency=max(1, _number("CSC_LLM_CONCURRENCY", int, 16)),
        rpm=_number("CSC_LLM_RPM", int, None),
        tpm=_number("CSC_LLM_TPM", int, None),
        max_attempts=max(1, _number("CSC_LLM_MAX_ATTEMPTS", int, 6)),
        max_reasks=max(0, _number("CSC_LLM_MAX_REASKS", int, 2)),
        budget_usd=_number("CSC_LLM_BUDGET_USD", float, None),
        prices=_load_prices(_env("CSC_LLM_PRICES")),
        cache_path=Path(cache) if cache else None,
    )
