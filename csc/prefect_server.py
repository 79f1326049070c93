"""Prefect's temporary API server goes when the csc process that started it goes.

With PREFECT_API_URL unset, Prefect starts a server for the run as a subprocess
(`SubprocessASGIServer`: `python -m uvicorn ... prefect.server.api.server:create_app`) and
stops it from an `atexit` hook. A `kill -9` of csc skips that hook, and the server lived on,
holding a port and its database, with nobody to stop it.

`tie_to_this_process()` (called by the CLI before it runs a flow) makes Prefect start the same
command under this module instead: `python -m csc.prefect_server --parent <csc pid> --
<uvicorn arguments>`. It runs uvicorn in-process and watches its parent, as the simulator
does: once the parent is gone, the server stops itself (SIGTERM, uvicorn's own graceful
stop; a hard exit if that takes longer than `GRACE_S`). The watch is in the server, not in
csc, because a killed process runs no code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

POLL_S = 0.5
GRACE_S = 5.0
_UVICORN = ["-m", "uvicorn"]


def watched_command(args: list[str], parent: int) -> list[str]:
    """Prefect's server command, run under the parent watch; any other command as it is."""
    if len(args) < 3 or list(args[1:3]) != _UVICORN:
        return list(args)
    return [args[0], "-m", __name__, "--parent", str(parent), "--", *args[3:]]


class _WatchedPopen(subprocess.Popen):
    """Popen that starts Prefect's server command under the parent watch."""

    def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
        if isinstance(args, list | tuple):
            args = watched_command(list(args), os.getpid())
        super().__init__(args, *rest, **kwargs)


class _SubprocessForPrefectServer:
    """Stands in for the `subprocess` module inside prefect.server.api.server only: its
    Popen is the watched one, everything else is the real module's."""

    Popen = _WatchedPopen

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)


def tie_to_this_process() -> None:
    """Make the temporary server Prefect starts from now on stop when this process dies.

    Only the server module's view of `subprocess` changes, so no other subprocess is
    touched. Idempotent."""
    import prefect.server.api.server as server

    if not isinstance(server.subprocess, _SubprocessForPrefectServer):
        server.subprocess = _SubprocessForPrefectServer()  # type: ignore[assignment]


def _watch_parent(parent: int, poll_s: float = POLL_S, grace_s: float = GRACE_S) -> None:
    """Stop this process once `parent` is no longer its parent (it died, and the process was
    handed to init or a subreaper)."""
    while os.getppid() == parent:
        time.sleep(poll_s)
    with contextlib.suppress(OSError):  # the stderr we share with csc may have gone with it
        print(f"csc.prefect_server: csc (pid {parent}) is gone; stopping the temporary "
              "Prefect server", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn shuts down cleanly on SIGTERM
    time.sleep(grace_s)
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """`python -m csc.prefect_server --parent PID -- <uvicorn arguments>`."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[0] != "--parent" or not argv[1].isdigit() or argv[2] != "--":
        sys.exit("usage: python -m csc.prefect_server --parent PID -- <uvicorn arguments>")
    threading.Thread(target=_watch_parent, args=(int(argv[1]),), name="parent-watch",
                     daemon=True).start()
    from uvicorn.main import main as uvicorn_main

    uvicorn_main(args=argv[3:], prog_name="uvicorn")  # exits with uvicorn's status


if __name__ == "__main__":
    main()
