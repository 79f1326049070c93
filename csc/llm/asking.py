"""Asking a role: the one call a stage's domain code makes (`gw.ask`).

The role's table entry (schemas.llm.ROLES) supplies the answer type, its prompt template the
messages, and the answer comes back with its lineage (model, prompt version, reasoning)
attached, so no stage restates a response type or reloads a prompt to record where a
verdict came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from csc.framework import strategy_catalogue
from csc.prompts import Prompt, load_template
from schemas.llm import ROLES, Role

if TYPE_CHECKING:  # the gateway imports this module
    from csc.llm.gateway import LLMFailure, LLMGateway, LLMRequest


@dataclass(frozen=True)
class Answer:
    """A role's parsed answer and where it came from."""

    value: Any
    reasoning: str | None
    model: str
    prompt_version: str
    cached: bool

    @property
    def lineage(self) -> dict[str, str]:
        """What is stored beside a verdict: which model and prompt produced it."""
        return {"model": self.model, "prompt_version": self.prompt_version}


async def ask(gw: LLMGateway, role: Role, payload: BaseModel | dict, language: str,
              item_key: str, *, refresh: bool | None = None,
              values: dict[str, str] | None = None) -> Answer | LLMFailure:
    """The role's answer to `payload`, or why there is none (dead-lettered or deferred).

    `values` fills the template's `{{name}}` tokens; `strategies` (the catalogue in the
    dialogue's language) is always there. `refresh=True` asks past the cache for this call
    only."""
    from csc.llm.gateway import LLMResult

    request = request_for(role, payload, language, item_key, values,
                          templates=getattr(gw, "templates", None))
    result = await gw.one(request, refresh=refresh)
    if not isinstance(result, LLMResult):
        return result
    return Answer(result.value, result.reasoning, gw.settings.role(role).model,
                  request.prompt_version, result.cached)


Template = tuple[Prompt, type[BaseModel], str]  # prompt, answer type, strategy catalogue


def template_for(role: Role, language: str,
                 templates: dict[tuple[Role, str], Template] | None = None) -> Template:
    """The role's prompt in `language`, its answer type under the chosen prompt variant and
    the strategy catalogue, read from the settings and the template file once per `templates`
    (a gateway's: one stage run, whose settings were validated as it started and whose
    version was computed from these same templates). Without it, read on every call."""
    if templates is not None and (hit := templates.get((role, language))) is not None:
        return hit
    prompt, variant = load_template(role, language)
    found = (prompt, ROLES[role].answer_type(variant), strategy_catalogue(language))
    if templates is not None:
        templates[(role, language)] = found
    return found


def request_for(role: Role, payload: BaseModel | dict, language: str, item_key: str,
                values: dict[str, str] | None = None, *,
                templates: dict[tuple[Role, str], Template] | None = None) -> LLMRequest:
    """The request `ask` sends: the role's template in `language`, its answer type under the
    chosen prompt variant (see template_for for `templates`)."""
    from csc.llm.gateway import LLMRequest

    prompt, answer_type, catalogue = template_for(role, language, templates)
    messages = prompt.render(payload, **{"strategies": catalogue, **(values or {})})
    return LLMRequest(role, messages, item_key=item_key, prompt_version=prompt.version,
                      response_type=answer_type)
