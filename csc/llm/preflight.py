"""Check the configured endpoint before any LLM stage spends time: reachable, models served."""

from __future__ import annotations

import openai

from csc.llm.endpoint import resolve
from csc.llm.gateway import EndpointError
from csc.llm.settings import LLMSettings, load_settings


def preflight(settings: LLMSettings | None = None) -> dict:
    """What the nightly DAG prints before its LLM stages; raises with a clear message."""
    settings = settings or load_settings()
    live = resolve(settings)
    client = openai.OpenAI(base_url=live.base_url, api_key=live.api_key, max_retries=2,
                           timeout=30)
    wanted = sorted({r.model for r in live.roles.values()})
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
    missing = [m for m in wanted if served is not None and m not in served]
    if missing:
        raise EndpointError(f"the endpoint does not serve model(s) {', '.join(missing)}; "
                            "set CSC_LLM_MODEL / CSC_LLM_<ROLE>_MODEL to served ones")
    return {"endpoint": settings.endpoint_identity, "simulator": settings.uses_simulator,
            "models": wanted}
