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
from csc.prompts import load_prompt, prompt_variant
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

    request = request_for(role, payload, language, item_key, values)
    result = await gw.one(request, refresh=refresh)
    if not isinstance(result, LLMResult):
        return result
    return Answer(result.value, result.reasoning, gw.settings.role(role).model,
                  request.prompt_version, result.cached)


def request_for(role: Role, payload: BaseModel | dict, language: str, item_key: str,
                values: dict[str, str] | None = None) -> LLMRequest:
    """The request `ask` sends: the role's template in `language`, its answer type under the
    chosen prompt variant."""
    from csc.llm.gateway import LLMRequest

    prompt = load_prompt(role, language)
    messages = prompt.render(payload, **{"strategies": strategy_catalogue(language),
                                         **(values or {})})
    return LLMRequest(role, messages, item_key=item_key, prompt_version=prompt.version,
                      response_type=ROLES[role].answer_type(prompt_variant(role)))
