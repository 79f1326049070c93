"""Opening a raw file as UTF-8 bytes, whatever it was stored as.

Every format reader reads one thing: UTF-8 bytes without a byte-order mark. This module gets a
file there: it un-gzips it, salvages the data before damage in a cut or corrupt gzip stream (and
remembers where and why it stopped, for `cut_reason`), re-encodes UTF-16 and UTF-32 found by
their byte-order mark, and refuses, as one clear line, a file that is empty or not UTF-8 at all.
"""

from __future__ import annotations

import codecs
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csc.ingest.readers.records import DAMAGE, DENIED, FileUnreadable

SNIFF_BYTES = 1 << 16  # how much of a file decides its encoding, and whether it is empty
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


class _Salvaging(io.RawIOBase):
    """A file's (decompressed) bytes that end cleanly where damage begins, noting where and why:
    a cut or corrupt gzip stream then costs the records after the damage, not the file."""

    def __init__(self, inner: io.BufferedIOBase) -> None:
        self.inner = inner
        self.offset = 0
        self.damage: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.damage is not None:
            return 0
        try:
            data = self.inner.read1(len(buffer))  # one gzip chunk: what it decoded is kept
        except DAMAGE as exc:
            self.damage = str(exc) or type(exc).__name__
            return 0
        buffer[: len(data)] = data
        self.offset += len(data)
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


class _Utf8(io.RawIOBase):
    """A UTF-16 or UTF-32 text re-encoded as UTF-8, so every reader handles one encoding."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            chunk = self.text.read(1 << 15)
            if not chunk:
                return 0
            self.pending = chunk.encode("utf-8")
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.text.close()
        super().close()


@dataclass(slots=True)
class Input:
    """An opened file: its content as UTF-8 bytes without a byte-order mark, and the raw reader
    that knows whether (and where) the bytes stopped early."""

    path: Path
    raw: _Salvaging
    stream: io.BufferedReader

    def text(self) -> io.TextIOWrapper:
        """Decode leniently so one bad byte rejects one record, not the whole file."""
        return io.TextIOWrapper(self.stream, encoding="utf-8", errors="surrogateescape",
                                newline="")

    @property
    def compressed(self) -> bool:
        return self.path.suffix == ".gz"


def _open_raw(path: Path) -> _Salvaging:
    # closed by _Salvaging.close, with the reader that owns it
    inner = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    return _Salvaging(inner)  # type: ignore[arg-type]


def open_input(path: Path, encoding: str) -> Input:
    raw = _open_raw(path)
    buffered = io.BufferedReader(raw, 1 << 16)
    if encoding == "utf-8":
        if buffered.peek(3)[:3] == codecs.BOM_UTF8:
            buffered.read(3)
        return Input(path, raw, buffered)
    # 'replace': UTF-16 has no lossless escape for a broken code unit (rare: an odd last byte)
    text = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")
    return Input(path, raw, io.BufferedReader(_Utf8(text), 1 << 16))


def _looks_like(body: bytes) -> str:
    """A guess at what a file that is not UTF-8 is, for the message that asks to re-save it."""
    nul = body.count(0)
    if nul * 4 >= len(body):
        width = "UTF-32" if nul * 8 >= len(body) * 5 else "UTF-16"
        order = "little" if body[1::2].count(0) >= body[0::2].count(0) else "big"
        return f"{width} ({order}-endian) without a byte-order mark"
    if sum(b < 9 or 13 < b < 32 for b in body) * 100 > len(body):
        return "binary data, not a text file"
    high = sum(b >= 0x80 for b in body)
    if high * 100 >= len(body) * 15:
        try:
            body.decode("gb18030")
            return "GBK/GB18030"
        except UnicodeDecodeError:
            return "a legacy multi-byte encoding (Big5, Shift-JIS, ...)"
    return "Latin-1/Windows-1252"


def _not_utf8(body: bytes, whole: bool) -> bool:
    """Whether a file's first bytes say it is not UTF-8 as a whole. More valid multi-byte
    characters than bad sequences say UTF-8 with a few bad bytes, which are quarantined record
    by record (other encodings form a valid UTF-8 pair now and then, never mostly). Many NULs
    are valid UTF-8 but say UTF-16 or UTF-32 without a byte-order mark."""
    if body.count(0) * 4 >= len(body) > 0:
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(body, whole)
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        bad = text.count("\ufffd")
        return bad >= sum(c > "\x7f" for c in text) - bad
    return False


def sniff(path: Path) -> str:
    """The codec to read `path` with, from its byte-order mark; refuses, as one clear line, a
    file that is empty or that as a whole is not UTF-8 (a per-record 'invalid UTF-8' on every
    line would hide what is wrong)."""
    try:
        with _open_raw(path) as raw:
            head = b""
            while len(head) <= SNIFF_BYTES and (chunk := raw.read(SNIFF_BYTES + 1 - len(head))):
                head += chunk
            damage = raw.damage
    except DENIED as exc:
        raise FileUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    if damage is not None and not head:
        raise FileUnreadable(f"cannot read {path}: {damage}")
    whole = len(head) <= SNIFF_BYTES and damage is None
    head = head[:SNIFF_BYTES]
    mark, encoding = next(((m, e) for m, e in _BOMS if head.startswith(m)), (b"", "utf-8"))
    body = head[len(mark):]
    if whole and not head.decode("utf-8-sig" if encoding == "utf-8" else encoding,
                                 "replace").strip():
        raise FileUnreadable(f"{path} is empty", "empty_file")
    if encoding == "utf-8" and _not_utf8(body, whole):
        raise FileUnreadable(
            f"{path} is not UTF-8 (looks like {_looks_like(body)}); re-save it as UTF-8",
            "not_utf8")
    return encoding


def cut_reason(src: Input, what: str | None, n: int, unit: str = "lines") -> str:
    """Why the records at the end of a damaged file are missing: where the data stops, which
    record it splits (`what`), and that the records before it were read (not all kept)."""
    head = f"file ends early: its data stops after {src.raw.offset:,} bytes ({src.raw.damage})"
    if what is None:
        return (f"{head}: the {unit} before {unit[:-1]} {n} were read, anything after them is "
                "missing")
    return f"{head}: {what}; the {unit} before it were read, anything after it is missing"
