"""A log of every chat-completions request the simulator received, one JSON line each.

It lets a test count what the endpoint was really asked, across restarts and kills of the
client (for example: no completed call is made again after a `kill -9`), which the client's
own journal cannot show. Set CSC_SIMULATOR_REQUEST_LOG=<path>; the simulator a csc process
starts for CSC_LLM_BASE_URL=simulator inherits it.

Each line is one write(2) on a descriptor opened with O_APPEND and no user-space buffer: once
the request is logged the line is in the kernel, so a `kill -9` of the simulator loses at
most the line being written, and several simulators appending to one file never interleave
their lines (a line is far below the size the kernel writes in one piece). No fsync: the log
has to survive a killed process, not a lost machine, and an fsync per request would stall
the event loop on a real disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

REQUEST_LOG_ENV = "CSC_SIMULATOR_REQUEST_LOG"


def messages_digest(messages: Any) -> str:
    """sha256 of the messages as canonical JSON: the same conversation, the same digest, in
    every process (unlike the client's prompt_hash, which also covers run settings)."""
    blob = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class RequestLog:
    """Appends request records to `path` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                       0o644)
        self._lock = threading.Lock()  # one app may serve from several threads in tests

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps({"time": round(time.time(), 6), "pid": os.getpid(), **record},
                           ensure_ascii=False, sort_keys=True) + "\n").encode()
        with self._lock:
            if self._fd is None:
                return
            view = memoryview(line)
            while view:  # a regular file takes it whole; loop only for a short write
                view = view[os.write(self._fd, view):]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def open_request_log(path: str | Path | None = None) -> RequestLog | None:
    """The log at `path`, else at $CSC_SIMULATOR_REQUEST_LOG; None when neither is set."""
    chosen = path if path is not None else os.environ.get(REQUEST_LOG_ENV, "").strip()
    return RequestLog(chosen) if chosen else None


def read_request_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a log; a line that is not JSON (a writer killed mid-write) is left out."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
