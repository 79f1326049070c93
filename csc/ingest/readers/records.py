"""What every reader yields, and the small helpers they share.

A *record* is the unit a source stores one dialogue in: a JSON array element, a JSONL line, the
rows of a CSV that share a dialogue id, or a blank-line-separated block of a line file. This
module holds the two outcomes of reading one (a `Record`, or a `Rejected` that says which record
failed and why), the error for a file that cannot be read at all, and the helpers every format
uses to quote data in messages, keep rejected data as text, follow dotted config paths and apply
the size caps. It imports no other reader module, so every one of them can import it.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from csc.errors import UserError
from csc.ingest.sources import SourceConfig

PAYLOAD_LIMIT = 100_000  # characters of a rejected record kept in quarantine
EXCERPT = 40  # characters of the data a message may quote
# Damage in a file's bytes, as opposed to a failing disk: the same on every attempt.
DAMAGE = (EOFError, zlib.error, gzip.BadGzipFile)
DENIED = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
READ_ERRORS = (*DAMAGE, *DENIED)
SURROGATE = re.compile(r"[\udc80-\udcff]")


@dataclass(slots=True)
class Record:
    record_no: int
    line_no: int | None
    source_dialogue_id: str | None
    business_area: str | None
    speakers: list[str] = field(default_factory=list)  # 'customer' | 'supporter'
    texts: list[str] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    skipped: int = 0  # utterances of `skip` speakers (system events) dropped by config


@dataclass(slots=True)
class Rejected:
    record_no: int
    line_no: int | None
    source_dialogue_id: str | None
    check: str
    reason: str
    payload: str


class FileUnreadable(UserError):
    """The file as a whole cannot be opened or decoded; nothing in it can be ingested.

    `check` names the failure class in raw.quarantine (`file_unreadable`, `empty_file`, ...).
    """

    def __init__(self, message: str, check: str = "file_unreadable") -> None:
        super().__init__(message)
        self.check = check


def excerpt(value: str, limit: int = EXCERPT) -> str:
    """A short, printable piece of the data for a message: a reason never carries a whole row,
    and undecodable bytes show as escapes rather than breaking the writer."""
    value = escaped(value).replace("\n", "\\n").replace("\r", "\\r")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def payload(value: Any) -> str:
    """Keep what was rejected as readable text; undecodable bytes become backslash escapes."""
    if isinstance(value, bytes):
        return value[: PAYLOAD_LIMIT * 4].decode("utf-8", "backslashreplace")[:PAYLOAD_LIMIT]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return escaped(text)[:PAYLOAD_LIMIT]


def escaped(text: str) -> str:
    """Bytes that were not UTF-8 (kept as surrogates while reading) as backslash escapes: the
    warehouse stores only valid text."""
    if SURROGATE.search(text):
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def dotted_path(spec: str | None) -> tuple[str | int, ...]:
    if not spec:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in spec.split("."))


def dotted_get(obj: Any, parts: tuple[str | int, ...]) -> Any:
    for part in parts:
        if isinstance(part, int):
            if not isinstance(obj, list) or part >= len(obj):
                return None
            obj = obj[part]
        else:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(part)
        if obj is None:
            return None
    return obj


def scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


def too_large(what: str, size: int, cfg: SourceConfig) -> str:
    return f"{what} is {size:,} bytes, over the {cfg.max_record_bytes:,} limit"


def utf8_size(texts: Iterator[str] | list[str], cap: int) -> int:
    """Bytes of `texts` in UTF-8, exactly once they could be over `cap` (a character is at
    most 4 bytes; counting characters is cheap, encoding is not)."""
    texts = list(texts)
    chars = sum(map(len, texts))
    if chars * 4 <= cap:
        return chars
    return sum(len(t.encode("utf-8", "surrogateescape")) for t in texts)
