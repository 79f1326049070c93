"""A gateway that answers from a script, with no HTTP: for testing a stage's `process()`.

It offers what domain code uses - `ask`, `settings`, `stats` - and records every question, so
a test reads which roles a stage asked, in which order, and with what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from csc.llm.asking import Answer
from csc.llm.gateway import GatewayStats, LLMFailure
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import Role

Reply = Any  # an answer value, an LLMFailure, or a callable(payload) -> either


def stub_settings() -> LLMSettings:
    roles = {r: RoleSettings(model=f"stub-{r.value}", temperature=0.0, max_tokens=None,
                             timeout=5.0) for r in Role}
    return LLMSettings(base_url="http://stub.invalid/v1", api_key="stub", roles=roles)


@dataclass
class Asked:
    role: Role
    payload: Any
    language: str
    item_key: str
    refresh: bool | None


@dataclass
class StubGateway:
    replies: dict[Role, Reply | list[Reply]]
    settings: LLMSettings = field(default_factory=stub_settings)
    stats: GatewayStats = field(default_factory=GatewayStats)
    asked: list[Asked] = field(default_factory=list)
    cached: bool = False

    async def ask(self, role: Role, payload: Any, language: str, item_key: str, *,
                  refresh: bool | None = None,
                  values: dict[str, str] | None = None) -> Answer | LLMFailure:
        self.asked.append(Asked(role, payload, language, item_key, refresh))
        self.stats.calls += 1
        reply = self.replies[role]
        if isinstance(reply, list):  # one per ask, in order
            reply = reply.pop(0)
        if isinstance(reply, Callable) and not isinstance(reply, type):
            reply = reply(payload)
        if isinstance(reply, LLMFailure):
            return replace(reply, item_key=item_key)
        model = self.settings.role(role).model
        return Answer(reply, f"thinking about {role.value}", model, f"{role.value}.{language}@stub",
                      self.cached and not refresh)

    def roles_asked(self) -> list[Role]:
        return [a.role for a in self.asked]
