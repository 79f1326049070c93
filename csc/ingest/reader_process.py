"""Read a large file in a process of its own.

Reading is Python (JSON decoding, `DialogueParser`, one object per turn) and holds the GIL:
on 1M utterances about 3 s of the ~10 s ingest, while the builder's polars work and DuckDB's
writes wait for that same lock on the second core. In a child process the reader has a GIL of
its own; it sends each chunk as pickled polars frames (Arrow IPC inside), which the parent
unpickles in milliseconds. Starting a Python process costs ~0.3 s, so only files of at least
`MIN_BYTES` are read this way (the parent hashes the file and opens the warehouse meanwhile).

Protocol: the parent writes one pickled (path, config, batch_records) on the child's stdin;
the child answers on its stdout with length-prefixed pickled messages: ("chunk", Chunk) per
chunk, then ("end", None), or ("error", exception) where the thread reader would have raised.
Stray prints of the child go to its stderr, so they never corrupt the channel.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import csc
from csc.errors import UserError
from csc.ingest import collector
from csc.ingest.chunks import Chunk, read_chunks
from csc.ingest.sources import SourceConfig

MIN_BYTES = 32 << 20  # files this large (as stored, so a .gz holds ~5x more) get a process
_HEADER = 8
_F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe moves a chunk in 20 writes instead of 300


class ReaderProcessFailed(UserError):
    """The reading process ended without saying why (killed, out of memory)."""


class ReaderProcess:
    """The chunks of `read_chunks(path, cfg, batch_records)`, read in a child process that
    starts at once (so its start overlaps whatever the caller does next); the child's
    exceptions are raised by `next`. Iterate it to the end or `close` it: closing stops the
    child, which never outlives its reader."""

    def __init__(self, path: Path, cfg: SourceConfig, batch_records: int) -> None:
        package_root = str(Path(csc.__file__).resolve().parent.parent)
        env = dict(os.environ)  # the child runs this checkout's code, whatever is installed
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root,
                                                          env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(_command(), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        self._closed = False
        stdin, self._out = self._proc.stdin, self._proc.stdout
        assert stdin is not None and self._out is not None
        _widen(self._out.fileno())
        try:  # a few hundred bytes: the pipe takes them without waiting for the child
            pickle.dump((str(path), cfg, batch_records), stdin)
            stdin.close()
        except BrokenPipeError:  # the child died at once; `next` says so
            pass
        except BaseException:  # the caller never gets the object that would stop the child
            self.close()
            raise

    def __iter__(self) -> ReaderProcess:
        return self

    def __next__(self) -> Chunk:
        if self._closed:
            raise StopIteration
        try:
            kind, body = _receive(self._out, self._proc)
        except BaseException:
            self.close()
            raise
        if kind == "chunk":
            return body  # type: ignore[return-value]
        self.close()
        if kind == "error":
            raise body  # type: ignore[misc]
        raise StopIteration

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._out.close()


def _command() -> list[str]:
    return [sys.executable, "-m", __name__]


def _receive(stream: BinaryIO, proc: subprocess.Popen) -> tuple[str, object]:
    head = stream.read(_HEADER)
    body = stream.read(int.from_bytes(head, "little")) if len(head) == _HEADER else b""
    if len(head) < _HEADER or len(body) < int.from_bytes(head, "little"):
        raise ReaderProcessFailed(
            f"the process reading the file ended unexpectedly (exit code {proc.wait()})")
    return pickle.loads(body)


def _widen(fd: int) -> None:
    # not Linux, or over the system's pipe size limit: the default size works too
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)


def _send(out: BinaryIO, message: tuple[str, object]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(_HEADER, "little"))
    out.write(data)
    out.flush()


def _sendable(exc: BaseException) -> tuple[str, object]:
    """The exception itself when it survives pickling, else one that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return ("error", exc)
    except Exception:  # any exception type may fail to pickle
        return ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops us
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the channel
    path, cfg, batch_records = pickle.load(sys.stdin.buffer)
    try:
        with collector.paused():
            for chunk in collector.collected_between(read_chunks(Path(path), cfg,
                                                                 batch_records)):
                _send(channel, ("chunk", chunk))
        _send(channel, ("end", None))
    except BrokenPipeError:  # the parent stopped reading (it failed, or closed us early)
        return
    except Exception as exc:  # every reader error is the parent's to judge
        _send(channel, _sendable(exc))


if __name__ == "__main__":
    main()
