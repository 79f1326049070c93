"""Prompt templates: `prompts/<role>.<lang>.md`, versioned by their own content.

A template has a `## system` and a `## user` section. `{{name}}` tokens are filled at render
time; the role's input is appended to the user message as one fenced ```json block (the
convention every role and the simulator share). The version is a hash of the file, and it is
part of the LLM cache key: editing a prompt re-runs exactly the calls that used it.

A role may have named variants, `prompts/<role>.<variant>.<lang>.md`, chosen with
`CSC_<ROLE>_VARIANT` (e.g. CSC_POSTFILTER_JUDGE_VARIANT=strict). The default is the paper's
prompt; a variant's name is in its version ('postfilter_judge.strict.zh@<hash>'), so the
lineage of every call and the CSConv pipeline version both show which one was used.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from csc.errors import ConfigError, UserError
from csc.paths import PROJECT_ROOT
from csc.settings import current
from schemas.llm import STAGE_ROLES, Role

PROMPTS_DIR = PROJECT_ROOT / "prompts"
LANGUAGES = ("zh", "en")  # every role's template exists in each
_SECTION = re.compile(r"^##\s*(system|user)\s*$", re.M | re.I)
_TOKEN = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class PromptError(UserError, ValueError):
    """A template is missing or malformed."""


@dataclass(frozen=True)
class Prompt:
    role: Role
    language: str
    system: str
    user: str
    version: str

    def render(self, payload: BaseModel | dict, **values: str) -> list[dict[str, str]]:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        block = json_block(data)

        def fill(text: str) -> str:
            def one(m: re.Match) -> str:
                if m.group(1) not in values:
                    raise PromptError(f"{self.role.value}.{self.language}: no value for "
                                      f"{{{{{m.group(1)}}}}}")
                return values[m.group(1)]
            return _TOKEN.sub(one, text)

        return [{"role": "system", "content": fill(self.system)},
                {"role": "user", "content": f"{fill(self.user)}\n\n```json\n{block}\n```"}]


class _Unusual(Exception):
    """A value json_block leaves to json.dumps."""


def json_block(data: object) -> str:
    """`json.dumps(data, ensure_ascii=False, indent=1)`, character for character (the block is
    part of every cache key), without the pure-Python encoder json.dumps falls back to for an
    indent: a prompt's payload is built on every LLM call. Dicts with keys that are not
    strings, and types JSON has no word for, go to json.dumps itself."""
    out: list[str] = []
    try:
        _emit(data, out, "\n")
    except _Unusual:
        return json.dumps(data, ensure_ascii=False, indent=1)
    return "".join(out)


_encode_str = json.encoder.encode_basestring  # the C one when there is one, as json.dumps
_float_repr = float.__repr__
_int_repr = int.__repr__


def _emit(o: object, out: list[str], newline: str) -> None:
    # the checks in json.encoder's own order (a bool is an int; a str subclass is a str)
    if isinstance(o, str):
        out.append(_encode_str(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(_int_repr(o))
    elif isinstance(o, float):
        if o != o:
            out.append("NaN")
        elif o in (float("inf"), float("-inf")):
            out.append("Infinity" if o > 0 else "-Infinity")
        else:
            out.append(_float_repr(o))
    elif isinstance(o, list | tuple):
        if not o:
            out.append("[]")
            return
        inner = newline + " "
        out.append("[")
        for i, value in enumerate(o):
            out.append("," + inner if i else inner)
            _emit(value, out, inner)
        out.append(newline + "]")
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = newline + " "
        out.append("{")
        for i, (key, value) in enumerate(o.items()):
            if not isinstance(key, str):
                raise _Unusual
            out.append(("," + inner if i else inner) + _encode_str(key) + ": ")
            _emit(value, out, inner)
        out.append(newline + "}")
    else:
        raise _Unusual


def prompts_dir() -> Path:
    """`CSC_PROMPTS_DIR` (a team's own prompt set), else the project's prompts/."""
    return current().prompts_dir


def variant_setting(role: Role) -> str:
    return f"CSC_{role.value.upper()}_VARIANT"


def prompt_variant(role: Role) -> str | None:
    """The variant chosen for `role` (None: the default prompt). A name that could leave
    prompts/ or clash with a language is refused by csc.settings, never silently ignored."""
    return current().variant(role)


def load_prompt(role: Role, language: str) -> Prompt:
    return load_template(role, language)[0]


def load_template(role: Role, language: str) -> tuple[Prompt, str | None]:
    """The role's prompt in `language` and the variant it is (None: the default prompt),
    from one read of the settings, so the two always agree."""
    settings = current()
    variant = settings.variant(role)
    stem = f"{role.value}.{variant}" if variant else role.value
    path = settings.prompts_dir / f"{stem}.{language}.md"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        if variant:  # a setting names a variant that has no template: the user's to fix
            raise ConfigError(f"{variant_setting(role)}={variant}: no prompt template "
                              f"{path}") from None
        raise PromptError(f"no prompt template {path}") from None
    return _load(path, stamp, role, language, stem), variant


@lru_cache(maxsize=128)
def _load(path: Path, _stamp: int, role: Role, language: str, stem: str) -> Prompt:
    """Cached per file version: an edited template is read again."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise PromptError(f"no prompt template {path}") from None
    parts = _SECTION.split(text)
    sections = {parts[i].lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if "system" not in sections or "user" not in sections:
        raise PromptError(f"{path} needs a '## system' and a '## user' section")
    version = f"{stem}.{language}@" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return Prompt(role, language, sections["system"], sections["user"], version)


def stage_roles(stages: Iterable[str]) -> list[Role]:
    """The roles `stages` ask (schemas.llm.STAGE_ROLES), each once, in order."""
    return list(dict.fromkeys(r for stage in stages for r in STAGE_ROLES.get(stage, ())))


def check_templates(roles: Iterable[Role | str], languages: Iterable[str] = LANGUAGES) -> None:
    """Every template `roles` will load (the chosen variant, in `prompts_dir()`) exists and
    has its sections, in every language: checked before a run, so a missing file is one line
    naming it, not a failure halfway through. Every problem is reported at once, one line
    each; a single one keeps its own class (PromptError, or ConfigError for a variant)."""
    current()  # a bad setting (a variant's name, CSC_PROMPTS_DIR) is its own error, once
    problems: dict[str, UserError] = {}
    for role in dict.fromkeys(Role(r) for r in roles):
        for language in languages:
            try:
                load_prompt(role, language)
            except (PromptError, ConfigError) as exc:  # a variant with no template
                problems.setdefault(str(exc), exc)
    if len(problems) == 1:
        raise next(iter(problems.values()))
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise PromptError(f"{len(problems)} problems with the prompt templates in "
                          f"{prompts_dir()}:\n{lines}")
