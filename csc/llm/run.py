"""Run a gateway coroutine from synchronous code (Prefect tasks, the CLI)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from csc.llm.gateway import LLMGateway

T = TypeVar("T")


def run_with_gateway(make: Callable[[], LLMGateway],
                     work: Callable[[LLMGateway], Awaitable[T]]) -> T:
    """Create the gateway inside the loop that uses it, run `work`, close the client.

    When the caller already runs an event loop (a notebook, an async flow), the work runs on
    a fresh loop in a helper thread instead of failing.
    """
    async def main() -> T:
        gw = make()
        try:
            return await work(gw)
        finally:
            await gw.aclose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="llm-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
