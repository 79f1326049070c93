"""A stage's process killed with SIGKILL at a chosen moment: frozen right after its N-th
completed LLM call is in the journal, then killed, as a crash would leave it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csc.paths import PROJECT_ROOT

FREEZE_AFTER_CALLS = textwrap.dedent("""
    import os, sys, threading
    from csc.llm.journal import Journal

    ready, calls, record, ok = int(sys.argv[1]), int(sys.argv[2]), Journal.record, []

    def record_then_stop(self, call, *args, **kwargs):
        record(self, call, *args, **kwargs)
        if call.status == "ok":
            ok.append(call.call_id)
            if len(ok) == calls:
                os.write(ready, b"%d calls done\\n" % calls)
                threading.Event().wait()  # frozen until killed

    Journal.record = record_then_stop
""")


def wait_for_word(fd: int, timeout: float = 600.0) -> str:
    """The first line the child writes on `fd` ('' when it exits without writing)."""
    readable, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 100).decode().strip() if readable else "(no word in time)"


@contextmanager
def killed_after_calls(run: str, calls: int, log: Path) -> Iterator[None]:
    """Start `run` (code that starts a flow) in a child process with this environment; the
    body runs meanwhile (the child's environment is fixed as it starts); on leaving, wait for
    the child's `calls`-th completed call to be journaled and SIGKILL it there. Fails the
    test, with the child's log, when the child finished or died before that."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(),
               PYTHONPATH=str(PROJECT_ROOT))
    script = FREEZE_AFTER_CALLS + textwrap.dedent(run) + '\nos.write(ready, b"finished\\n")\n'
    read_end, write_end = os.pipe()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", script, str(write_end), str(calls)],
                                env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out,
                                pass_fds=(write_end,))
    os.close(write_end)
    try:
        yield
        word = wait_for_word(read_end)
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
    finally:
        os.close(read_end)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert word == f"{calls} calls done", log.read_text(errors="replace")[-3000:]
