"""The models to evaluate: a YAML file named by CSC_EVAL_MODELS, or the defaults.

    models:
      - name: qwen-7b-base           # the leaderboard's name for it
        model: Qwen2.5-7B-Instruct   # what the endpoint serves
        base_url: http://gpu-box:8000/v1   # optional: CSC_LLM_BASE_URL otherwise
        api_key_env: GPU_BOX_KEY     # optional: the variable holding its key (never the key)
        temperature: 0.0             # optional
        max_tokens: 256              # optional
      - name: strategy-prior
        baseline: strategy_prior     # an offline baseline (csc/eval/baselines.py)

Without a file: the two offline baselines, and the endpoint's candidate model
(CSC_LLM_CANDIDATE_MODEL, else CSC_LLM_MODEL) when an endpoint is configured. Runs against the
simulator are kind 'simulator': the pipeline's own check, never a model's result.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from csc.errors import UserError
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import Role

BASELINES = ("strategy_prior", "retrieval", "classifier")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_KEYS = {"name", "model", "base_url", "api_key_env", "temperature", "max_tokens", "baseline"}


class RegistryError(UserError):
    """The model registry file cannot be used; says which entry and why."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model: str | None = None  # the endpoint's model (None: a baseline)
    baseline: str | None = None  # strategy_prior | retrieval
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float | None = 0.0
    max_tokens: int | None = None
    trained_on: str | None = None  # an export's folder: a baseline fine-tuned on it learns there
    base: str | None = None  # the registry name of the model it was fine-tuned from

    @property
    def is_baseline(self) -> bool:
        return self.baseline is not None

    def kind(self, settings: LLMSettings | None = None) -> str:
        if self.is_baseline:
            return "baseline"
        uses_sim = (self.base_url == "simulator" or (self.model or "").startswith("sim-")
                    or (self.base_url is None and settings is not None
                        and settings.uses_simulator))
        return "simulator" if uses_sim else "model"

    def params(self) -> dict[str, Any]:
        """What shapes its answers, as stored in eval.runs.params (no secret)."""
        tuned = {"base": self.base} if self.base else {}
        if self.is_baseline:
            return {"baseline": self.baseline, **tuned}
        return {"model": self.model, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "base_url": self.base_url, **tuned}

    def settings_for(self, settings: LLMSettings) -> LLMSettings:
        """The endpoint settings with the candidate role answered by this model."""
        base = settings.role(Role.CANDIDATE) if Role.CANDIDATE in settings.roles else None
        role = RoleSettings(model=self.model or "", temperature=self.temperature,
                            max_tokens=self.max_tokens, timeout=base.timeout if base else 120.0)
        changed = replace(settings, roles={**settings.roles, Role.CANDIDATE: role},
                          unusable={k: v for k, v in settings.unusable.items()
                                    if k is not Role.CANDIDATE})
        if self.base_url:
            changed = replace(changed, base_url=self.base_url, identity=None)
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise RegistryError(f"model '{self.name}': the variable {self.api_key_env} "
                                    "that should hold its API key is not set")
            changed = replace(changed, api_key=key)
        return changed


def load_registry(path: Path | None, settings: LLMSettings | None = None) -> list[ModelEntry]:
    """The registry file's models, or the defaults (see the module docstring)."""
    if path is None:
        return default_registry(settings)
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"CSC_EVAL_MODELS names {path}, which does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path} cannot be read as YAML: {exc}") from None
    items = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise RegistryError(f"{path}: expected a 'models:' list with at least one entry")
    entries = [_entry(item, i, path) for i, item in enumerate(items, start=1)]
    names = [e.name for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RegistryError(f"{path}: model names must be unique; repeated: {', '.join(dupes)}")
    return entries


def _entry(item: Any, n: int, path: Path) -> ModelEntry:
    where = f"{path}, model {n}"
    if not isinstance(item, dict):
        raise RegistryError(f"{where}: expected a mapping with 'name' and 'model' or 'baseline'")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise RegistryError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(_KEYS))}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(f"{where}: 'name' must be 1-64 letters, digits or . _ + - "
                            f"(got {name!r})")
    baseline, model = item.get("baseline"), item.get("model")
    if (baseline is None) == (model is None):
        known = f"{', '.join(BASELINES[:-1])} or {BASELINES[-1]}"
        raise RegistryError(f"{where} ('{name}'): give exactly one of 'model' (an endpoint's "
                            f"model) or 'baseline' ({known})")
    if baseline is not None and baseline not in BASELINES:
        raise RegistryError(f"{where} ('{name}'): unknown baseline {baseline!r}; "
                            f"known: {', '.join(BASELINES)}")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise RegistryError(f"{where} ('{name}'): 'model' must be a non-empty string")
    temperature, max_tokens = item.get("temperature", 0.0), item.get("max_tokens")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, int | float)
                                    or not 0 <= temperature <= 2):
        raise RegistryError(f"{where} ('{name}'): 'temperature' must be a number from 0 to 2")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or max_tokens < 1):
        raise RegistryError(f"{where} ('{name}'): 'max_tokens' must be a whole number >= 1")
    for key in ("base_url", "api_key_env"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise RegistryError(f"{where} ('{name}'): '{key}' must be a string")
    return ModelEntry(name=name, model=model, baseline=baseline, base_url=item.get("base_url"),
                      api_key_env=item.get("api_key_env"),
                      temperature=None if temperature is None else float(temperature),
                      max_tokens=max_tokens)


def default_registry(settings: LLMSettings | None) -> list[ModelEntry]:
    entries = [ModelEntry("strategy-prior", baseline="strategy_prior"),
               ModelEntry("retrieval-tfidf", baseline="retrieval")]
    if settings is not None and Role.CANDIDATE in settings.roles \
            and Role.CANDIDATE not in settings.unusable:
        role = settings.role(Role.CANDIDATE)
        entries.append(ModelEntry(role.model, model=role.model, temperature=role.temperature,
                                  max_tokens=role.max_tokens))
    return entries
