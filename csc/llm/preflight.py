"""Check the configured endpoint before any LLM stage spends time: reachable, models served."""

from __future__ import annotations

from collections.abc import Iterable

import openai

from csc.llm.endpoint import resolve
from csc.llm.gateway import EndpointError
from csc.llm.settings import LLMSettings, load_settings
from csc.prompts import check_templates, stage_roles
from schemas.llm import STAGE_ROLES, Role

SHOW_SERVED = 20  # an endpoint may serve hundreds of models: name this many, count the rest


def served_list(served: Iterable[str], limit: int = SHOW_SERVED) -> str:
    """The served models for a message: sorted, at most `limit` named, then how many more."""
    names = sorted(served)
    if not names:
        return "it lists no models"
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return f"it serves {shown}" + (f" and {more} more" if more > 0 else "")


def preflight(settings: LLMSettings | None = None,
              roles: Iterable[Role | str] | None = None) -> dict:
    """What an LLM flow prints before its stages; raises with a clear message.

    Checks the models and prompt templates of `roles`; by default of the roles the settings
    were loaded to require (load_settings(stages=...)), or of every configured role if none
    were.
    """
    roles = None if roles is None else [Role(r) for r in roles]
    settings = settings or load_settings(roles=roles)
    if roles is None:
        roles = list(settings.required) if settings.required else list(settings.roles)
    by_model: dict[str, list[str]] = {}
    for role in roles:  # LLMNotConfigured, naming the setting, for a role without a model
        by_model.setdefault(settings.role(role).model, []).append(role.value)
    # every template the stages' roles load (a PromptError listing the missing files), before
    # the endpoint is asked anything; roles of no stage (RoleCS) have no template in prompts/
    check_templates(r for r in roles if r in stage_roles(STAGE_ROLES))
    live = resolve(settings)
    client = openai.OpenAI(base_url=live.base_url, api_key=live.api_key, max_retries=2,
                           timeout=30)
    try:
        served = {m.id for m in client.models.list()}
    except openai.NotFoundError:
        served = None  # some gateways do not list models; the first call will tell
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        raise EndpointError(f"cannot reach the LLM endpoint {settings.endpoint_identity}: "
                            f"{exc.message}") from None
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise EndpointError(f"the LLM endpoint refused the key ({exc.status_code}); check "
                            "CSC_LLM_API_KEY") from None
    finally:
        client.close()
    missing = [m for m in sorted(by_model) if served is not None and m not in served]
    if missing:
        wanted_by = "; ".join(f"{m} (for {', '.join(by_model[m])})" for m in missing)
        raise EndpointError(
            f"the endpoint {settings.endpoint_identity} does not serve model(s) {wanted_by}; "
            f"{served_list(served or ())}. Set CSC_LLM_MODEL / CSC_LLM_<ROLE>_MODEL to "
            "served ones")
    return {"endpoint": settings.endpoint_identity, "simulator": settings.uses_simulator,
            "models": sorted(by_model), "roles": [r.value for r in roles]}
