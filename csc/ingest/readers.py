"""Read raw files into dialogue records, or into rejections that say which record failed and why.

A *record* is the unit a source stores one dialogue in: a JSON array element, a JSONL line, the
rows of a CSV that share a dialogue id, or a blank-line-separated block of a line file. Anything
that cannot be tied to a dialogue (a malformed JSON line, say) is a record of its own.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from csc.ingest.sources import SourceConfig

PAYLOAD_LIMIT = 100_000  # characters of a rejected record kept in quarantine
EXCERPT = 40  # characters of the data a message may quote
SNIFF_BYTES = 1 << 16  # how much of a file decides its encoding, and whether it is empty
# Damage in a file's bytes, as opposed to a failing disk: the same on every attempt.
_DAMAGE = (EOFError, zlib.error, gzip.BadGzipFile)
_DENIED = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
_READ_ERRORS = (*_DAMAGE, *_DENIED)
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_LINE_SPEAKER = re.compile(r"^\s*([^:：\s][^:：]{0,19}?)\s*[:：]\s?(.*)$")


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


class FileUnreadable(Exception):
    """The file as a whole cannot be opened or decoded; nothing in it can be ingested.

    `check` names the failure class in raw.quarantine (`file_unreadable`, `empty_file`, ...).
    """

    def __init__(self, message: str, check: str = "file_unreadable") -> None:
        super().__init__(message)
        self.check = check


def excerpt(value: str, limit: int = EXCERPT) -> str:
    """A short, printable piece of the data for a message: a reason never carries a whole row,
    and undecodable bytes show as escapes rather than breaking the writer."""
    value = _escaped(value).replace("\n", "\\n").replace("\r", "\\r")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _payload(value: Any) -> str:
    """Keep what was rejected as readable text; undecodable bytes become backslash escapes."""
    if isinstance(value, bytes):
        return value[: PAYLOAD_LIMIT * 4].decode("utf-8", "backslashreplace")[:PAYLOAD_LIMIT]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return _escaped(text)[:PAYLOAD_LIMIT]


def _escaped(text: str) -> str:
    """Bytes that were not UTF-8 (kept as surrogates while reading) as backslash escapes: the
    warehouse stores only valid text."""
    if _SURROGATE.search(text):
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def _path(spec: str | None) -> tuple[str | int, ...]:
    if not spec:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in spec.split("."))


def _get(obj: Any, parts: tuple[str | int, ...]) -> Any:
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


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


class _TurnMapper:
    """Maps raw speaker values and text shapes for one source; shared by every format.

    This runs once per utterance, so the common case (string speaker, string text) is checked
    first and the messages are only formatted on failure.
    """

    def __init__(self, cfg: SourceConfig) -> None:
        self.roles = cfg.speakers.lookup()
        self.exact = dict(self.roles)  # raw values as the config spells them, before folding
        for group, role in (("customer", cfg.speakers.customer),
                            ("supporter", cfg.speakers.supporter), ("skip", cfg.speakers.skip)):
            self.exact.update(dict.fromkeys(role, group))
        self.known = ", ".join(sorted(self.roles)) or "(none)"
        self.max_chars = cfg.max_utterance_chars

    def add(self, rec: Record, speaker: Any, text: Any, label: Any, where: str,
            n: int) -> tuple[str, str] | None:
        """Append one utterance to `rec`; return (check, reason citing `where` `n`) if it
        can't be."""
        role = self.exact.get(speaker) if type(speaker) is str else None
        if role is None:
            raw_speaker = _scalar_text(speaker)
            if raw_speaker is None:
                return "unknown_speaker", f"{where} {n}: missing speaker"
            role = self.roles.get(raw_speaker.strip().lower())
            if role is None:
                return "unknown_speaker", (f"{where} {n}: unknown speaker "
                                           f"'{excerpt(raw_speaker)}' (known: {self.known})")
        if role == "skip":
            rec.skipped += 1
            return None
        label = label if label is None or type(label) is str else _scalar_text(label)
        if type(text) is not str:
            if isinstance(text, list) and text:
                # Each item is a source line of its own (an STC-3 turn's utterance list): the
                # §3.2 rules count raw lines, and merging joins a speaker's lines again.
                if not all(isinstance(t, str) for t in text):
                    return "turn_shape", f"{where} {n}: text list holds a non-string"
                longest = max(map(len, text))
                if longest > self.max_chars:
                    return self.too_long(longest, where, n)
                rec.speakers.extend([role] * len(text))
                rec.texts.extend(text)
                rec.labels.extend([label] * len(text))
                return None
            if text is None or isinstance(text, list):
                text = ""
            else:
                return "turn_shape", f"{where} {n}: text is a {type(text).__name__}, not a string"
        if len(text) > self.max_chars:
            return self.too_long(len(text), where, n)
        rec.speakers.append(role)
        rec.texts.append(text)
        rec.labels.append(label)
        return None

    def too_long(self, chars: int, where: str, n: int) -> tuple[str, str]:
        return "utterance_too_large", (f"{where} {n}: utterance is {chars:,} characters, over "
                                       f"the {self.max_chars:,} limit")


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
        except _DAMAGE as exc:
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
class _Input:
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


def _open(path: Path, encoding: str) -> _Input:
    raw = _open_raw(path)
    buffered = io.BufferedReader(raw, 1 << 16)
    if encoding == "utf-8":
        if buffered.peek(3)[:3] == codecs.BOM_UTF8:
            buffered.read(3)
        return _Input(path, raw, buffered)
    # 'replace': UTF-16 has no lossless escape for a broken code unit (rare: an odd last byte)
    text = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")
    return _Input(path, raw, io.BufferedReader(_Utf8(text), 1 << 16))


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


def _sniff(path: Path) -> str:
    """The codec to read `path` with, from its byte-order mark; refuses, as one clear line, a
    file that is empty or that as a whole is not UTF-8 (a per-record 'invalid UTF-8' on every
    line would hide what is wrong)."""
    try:
        with _open_raw(path) as raw:
            head = b""
            while len(head) <= SNIFF_BYTES and (chunk := raw.read(SNIFF_BYTES + 1 - len(head))):
                head += chunk
            damage = raw.damage
    except _DENIED as exc:
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


class _DialogueParser:
    """Turns one decoded JSON dialogue object into a Record or a Rejected."""

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg
        self.mapper = _TurnMapper(cfg)
        self.id_path = _path(cfg.id)
        self.turns_path = _path(cfg.turns)
        self.speaker_path = _path(cfg.speaker)
        self.text_path = _path(cfg.text)
        self.label_path = _path(cfg.strategy)
        self.area_path = _path(cfg.business_area)
        paths = (self.speaker_path, self.text_path)
        single = all(len(p) == 1 and isinstance(p[0], str) for p in paths) and (
            len(self.label_path) <= 1 and all(isinstance(x, str) for x in self.label_path))
        self.fast_keys = (
            (self.speaker_path[0], self.text_path[0],
             self.label_path[0] if self.label_path else None) if single else None)

    def parse(self, obj: Any, record_no: int, line_no: int | None, raw: Any) -> Record | Rejected:
        if not isinstance(obj, dict):
            return Rejected(record_no, line_no, None, "record_shape",
                            f"expected a JSON object, got {type(obj).__name__}", _payload(raw))
        raw_id = _get(obj, self.id_path) if self.id_path else None
        ext_id = _scalar_text(raw_id)
        if raw_id is not None and ext_id is None:  # stored as NULL, it would pass for no id
            kind = {dict: "an object", list: "an array", bool: "a boolean"}.get(
                type(raw_id), f"a {type(raw_id).__name__}")
            return Rejected(record_no, line_no, None, "bad_id",
                            f"id field '{self.cfg.id}' is {kind}, not a string or number",
                            _payload(raw))
        if self.cfg.transcript:
            return _transcript_field(self, obj, record_no, line_no, ext_id, raw)
        turns = _get(obj, self.turns_path)
        if not isinstance(turns, list):
            what = "missing" if turns is None else f"a {type(turns).__name__}"
            return Rejected(record_no, line_no, ext_id, "record_shape",
                            f"turns field '{self.cfg.turns}' is {what}, not a list", _payload(raw))
        rec = Record(record_no, line_no, ext_id, _scalar_text(_get(obj, self.area_path)))
        add, fast = self.mapper.add, self.fast_keys
        for i, turn in enumerate(turns, start=1):
            if fast and type(turn) is dict:  # the common shape: one key per field
                sk, tk, lk = fast
                problem = add(rec, turn.get(sk), turn.get(tk), turn.get(lk) if lk else None,
                              "turn", i)
            else:
                problem = add(rec, _get(turn, self.speaker_path), _get(turn, self.text_path),
                              _get(turn, self.label_path) if self.label_path else None,
                              "turn", i)
            if problem:
                return Rejected(record_no, line_no, ext_id, *problem, _payload(raw))
        return rec


def _transcript_field(parser: _DialogueParser, obj: dict, record_no: int, line_no: int | None,
                      ext_id: str | None, raw: Any) -> Record | Rejected:
    """A dialogue whose turns are one string field of `Speaker: text` lines."""
    cfg = parser.cfg
    text = _get(obj, _path(cfg.transcript))
    if type(text) is not str:
        what = "missing" if text is None else f"a {type(text).__name__}"
        return Rejected(record_no, line_no, ext_id, "record_shape",
                        f"transcript field '{cfg.transcript}' is {what}, not a string",
                        _payload(raw))
    rec = Record(record_no, line_no, ext_id, _scalar_text(_get(obj, parser.area_path)))
    problem = _transcript(_numbered(text), rec, parser.mapper, "transcript line")
    if problem:
        return Rejected(record_no, line_no, ext_id, problem[1], problem[2], _payload(raw))
    return rec


def _read_json(src: _Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    path = src.path
    with src.stream as fh:
        data = fh.read()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if src.raw.damage is None:
            raise FileUnreadable(f"{path} is not valid JSON: {exc}") from None
        yield from _salvage_array(src, data, cfg)
        return
    del data
    items = _get(doc, _path(cfg.records)) if cfg.records else doc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise FileUnreadable(
            f"{path}: expected a JSON array of dialogues"
            + (f" at '{cfg.records}'" if cfg.records else "")
        )
    parser = _DialogueParser(cfg)
    for i, obj in enumerate(items, start=1):
        size = len(orjson.dumps(obj))  # the element as compact JSON: its size in JSON Lines
        if size > cfg.max_record_bytes:
            yield Rejected(i, None, None, "record_too_large", _too_large("record", size, cfg),
                           _payload(orjson.dumps(obj)[:PAYLOAD_LIMIT]))
        else:
            yield parser.parse(obj, i, None, obj)


def _too_large(what: str, size: int, cfg: SourceConfig) -> str:
    return f"{what} is {size:,} bytes, over the {cfg.max_record_bytes:,} limit"


def _utf8_size(texts: Iterator[str] | list[str], cap: int) -> int:
    """Bytes of `texts` in UTF-8, exactly once they could be over `cap` (a character is at
    most 4 bytes; counting characters is cheap, encoding is not)."""
    texts = list(texts)
    chars = sum(map(len, texts))
    if chars * 4 <= cap:
        return chars
    return sum(len(t.encode("utf-8", "surrogateescape")) for t in texts)


_WS = re.compile(r"\s*")


def _salvage_array(src: _Input, data: bytes, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    """The whole dialogues of a top-level JSON array that a damaged file cuts short, then the
    cut one as `truncated_file`. A cut document of any other shape has no records to salvage."""
    text = data.decode("utf-8", "surrogateescape")
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    if cfg.records or not text.startswith("[", pos):
        raise FileUnreadable(_cut_reason(
            src, "a cut JSON document cannot be read (JSON Lines is read up to a cut)", 1,
            "dialogues"), "truncated_file")
    decoder, items = json.JSONDecoder(), []
    pos += 1
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        items.append(obj)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(",", pos):
            break
        pos += 1
    parser = _DialogueParser(cfg)
    for i, obj in enumerate(items, start=1):
        yield parser.parse(obj, i, None, obj)
    n, tail = len(items) + 1, text[pos:]
    yield Rejected(n, None, None, "truncated_file", _cut_reason(
        src, f"dialogue {n} of the array is incomplete" if tail.strip() else None, n,
        "dialogues"), _payload(tail))


def _cut_reason(src: _Input, what: str | None, n: int, unit: str = "lines") -> str:
    """Why the records at the end of a damaged file are missing: where the data stops, which
    record it splits (`what`), and that the records before it were read (not all kept)."""
    head = f"file ends early: its data stops after {src.raw.offset:,} bytes ({src.raw.damage})"
    if what is None:
        return (f"{head}: the {unit} before {unit[:-1]} {n} were read, anything after them is "
                "missing")
    return f"{head}: {what}; the {unit} before it were read, anything after it is missing"


def _read_jsonl(src: _Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    parser = _DialogueParser(cfg)
    record_no = 0
    line_no = 0
    with src.stream as fh:
        for line_no, line in enumerate(fh, start=1):
            if src.raw.damage is not None and not line.endswith(b"\n"):
                yield Rejected(record_no + 1, line_no, None, "truncated_file", _cut_reason(
                    src, f"line {line_no} is incomplete", line_no), _payload(line))
                return
            if not line.strip():
                continue
            record_no += 1
            size = len(line.rstrip(b"\r\n"))
            if size > cfg.max_record_bytes:
                yield Rejected(record_no, line_no, None, "record_too_large",
                               _too_large("record", size, cfg), _payload(line[:PAYLOAD_LIMIT]))
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                try:
                    line.decode("utf-8")
                    check, reason = "malformed_json", f"malformed JSON: {exc}"
                except UnicodeDecodeError as uexc:
                    check, reason = "invalid_utf8", f"not valid UTF-8 at byte {uexc.start}"
                yield Rejected(record_no, line_no, None, check, reason, _payload(line))
                continue
            yield parser.parse(obj, record_no, line_no, line)
    if src.raw.damage is not None:
        yield Rejected(record_no + 1, line_no + 1, None, "truncated_file",
                       _cut_reason(src, None, line_no + 1), "")


def _transcript(lines: list[tuple[int, str]], rec: Record, mapper: _TurnMapper,
                where: str) -> tuple[int, str, str] | None:
    """Add `Speaker: text` lines to `rec`: a line whose prefix is not a known speaker (a URL,
    'App version: 8.4', 'Thanks, Sam') continues the utterance before it. Only a first line
    with no known speaker is a problem: (its number, the check, the reason). Shared by the
    line format and the transcript layouts (a whole dialogue in one CSV cell or JSON field)."""
    turns: list[list[Any]] = []  # [raw speaker, text, line number]
    for n, text in lines:
        m = _LINE_SPEAKER.match(text)
        if m is not None and m.group(1).strip().lower() in mapper.roles:
            turns.append([m.group(1), m.group(2), n])
        elif turns:
            turns[-1][1] += "\n" + text.strip()
        else:
            who = excerpt(m.group(1) if m else text.strip(), 20)
            return n, "unknown_speaker", (f"{where} {n}: the dialogue starts without a known "
                                          f"speaker ('{who}'); known: {mapper.known}")
    for speaker, text, n in turns:
        problem = mapper.add(rec, speaker, text, None, where, n)
        if problem:
            return n, *problem
    return None


def _read_lines(src: _Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    path = src.path
    mapper = _TurnMapper(cfg)
    block: list[tuple[int, str]] = []
    record_no = 0

    def flush() -> Record | Rejected | None:
        nonlocal record_no
        if not block:
            return None
        record_no += 1
        first = block[0][0]
        raw = "\n".join(text for _, text in block)
        rec = Record(record_no, first, f"{path.stem}:{first}", None)
        size = _utf8_size([text for _, text in block], cfg.max_record_bytes) + len(block) - 1
        if size > cfg.max_record_bytes:
            return Rejected(record_no, first, rec.source_dialogue_id, "record_too_large",
                            _too_large("dialogue", size, cfg), _payload(raw))
        if _SURROGATE.search(raw):
            bad = next(n for n, t in block if _SURROGATE.search(t))
            return Rejected(record_no, bad, rec.source_dialogue_id, "invalid_utf8",
                            f"line {bad} is not valid UTF-8", _payload(raw))
        problem = _transcript(block, rec, mapper, "line")
        if problem:
            return Rejected(record_no, problem[0], rec.source_dialogue_id, problem[1],
                            problem[2], _payload(raw))
        return rec

    n = 0
    try:
        with src.text() as fh:
            for n, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if line.strip() in ("", "---"):
                    out = flush()
                    block = []
                    if out is not None:
                        yield out
                    continue
                block.append((n, line))
    except _READ_ERRORS as exc:
        raise FileUnreadable(f"cannot read {path}: {exc}") from None
    if src.raw.damage is None:
        out = flush()
        if out is not None:
            yield out
        return
    # Nothing closed the last block: the cut may have split that dialogue, so it is held back.
    first = block[0][0] if block else n + 1
    yield Rejected(record_no + 1, first, None, "truncated_file", _cut_reason(
        src, f"the dialogue from line {first} is incomplete" if block else None, first),
        _payload("\n".join(text for _, text in block)))


def _read_csv(src: _Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    path = src.path
    cols = cfg.csv
    mapper = _TurnMapper(cfg)
    delimiter = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else cols.delimiter
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    loose: list[Rejected] = []
    last_key: str | None = None  # the dialogue of the last row read: a cut may split it
    try:
        with src.text() as fh:
            lines = _Tracked(fh)
            reader = csv.reader(lines, delimiter=delimiter)
            csv.field_size_limit(cfg.max_record_bytes)  # a larger cell is a larger record
            header = _csv_header(path, reader, cfg) if cols.header else None
            if cols.transcript is not None:
                yield from _csv_transcripts(src, cfg, _csv_rows(reader, loose, cfg, header),
                                            lines, loose)
                return
            for line_no, row in _csv_rows(reader, loose, cfg, header):
                key = (row.get(cols.dialogue_id) or "").strip()
                if not key or None in row:
                    reason = ("row has no dialogue id" if not key
                              else "row has more fields than the header")
                    loose.append(Rejected(0, line_no, key or None, "row_shape", reason,
                                          _payload(row)))
                    continue
                groups.setdefault(key, []).append((line_no, row))
                last_key = key
    except (*_READ_ERRORS, csv.Error) as exc:
        raise FileUnreadable(f"cannot read {path} as CSV: {exc}") from None
    held = _held_back(src, groups, loose, last_key, lines.last, reader.line_num)
    record_no = 0
    for key, rows in groups.items():
        record_no += 1
        if cols.order is not None:
            try:
                rows.sort(key=lambda r: float(r[1].get(cols.order) or 0))
            except ValueError:
                yield Rejected(record_no, rows[0][0], key, "row_shape",
                               f"column '{cols.order}' holds a non-number", _payload(
                                   [r for _, r in rows]))
                continue
        area = rows[0][1].get(cols.business_area) if cols.business_area is not None else None
        rec = Record(record_no, rows[0][0], key, area or None)
        problem = None
        size = _utf8_size([v for _, r in rows for v in r.values() if type(v) is str],
                          cfg.max_record_bytes)
        if size > cfg.max_record_bytes:
            problem = ("record_too_large", _too_large(f"dialogue '{excerpt(key)}'", size, cfg))
        for line_no, row in [] if problem else rows:
            text = row.get(cols.text)
            if _SURROGATE.search("\x1f".join(v for v in row.values() if type(v) is str)):
                problem = ("invalid_utf8", f"line {line_no} is not valid UTF-8")
                break
            reason = mapper.add(rec, row.get(cols.speaker), text,
                                row.get(cols.strategy) if cols.strategy is not None else None,
                                "line", line_no)
            if reason:
                problem = reason
                break
        if problem:
            yield Rejected(record_no, rows[0][0], _escaped(key), problem[0], problem[1],
                           _payload([r for _, r in rows]))
        else:
            yield rec
    for rej in [*loose, *held]:
        record_no += 1
        rej.record_no = record_no
        yield rej


def _csv_header(path: Path, reader: Any, cfg: SourceConfig) -> list[str]:
    """The header row, once it is known to name every column the config uses."""
    cols = cfg.csv
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise FileUnreadable(f"{path}: cannot read the CSV header: {exc}") from None
    missing = [str(c) for c in cols.required() if c not in header]
    if missing:
        found = ", ".join(f"'{c}'" for c in header)
        raise FileUnreadable(
            f"{path}: CSV header lacks column(s) {', '.join(missing)}; "
            f"found {excerpt(found) if header else 'no header'}")
    return header


def _csv_transcripts(src: _Input, cfg: SourceConfig, rows: Iterator[tuple[int, dict]],
                     lines: _Tracked, loose: list[Rejected]) -> Iterator[Record | Rejected]:
    """One dialogue per row, its whole transcript as `Speaker: text` lines in one cell. One
    row behind the reading, so that a row a cut splits is not stored."""
    mapper = _TurnMapper(cfg)
    record_no, pending = 0, None
    for item in rows:
        if pending is not None:
            record_no += 1
            yield _transcript_record(pending, record_no, cfg, mapper)
        pending = item
    if src.raw.damage is not None:
        partial = pending is not None and not lines.last.endswith(("\n", "\r"))
        line_no = pending[0] if pending is not None else 1
        if pending is not None and not partial:
            record_no += 1
            yield _transcript_record(pending, record_no, cfg, mapper)
        loose.append(Rejected(
            0, line_no, None, "truncated_file",
            _cut_reason(src, f"line {line_no} is incomplete" if partial else None,
                        line_no + (not partial)), _payload(pending[1] if partial else "")))
    elif pending is not None:
        record_no += 1
        yield _transcript_record(pending, record_no, cfg, mapper)
    for rej in loose:
        record_no += 1
        rej.record_no = record_no
        yield rej


def _transcript_record(item: tuple[int, dict], record_no: int, cfg: SourceConfig,
                       mapper: _TurnMapper) -> Record | Rejected:
    line_no, row = item
    cols = cfg.csv
    key = (row.get(cols.dialogue_id) or "").strip() or None
    area = row.get(cols.business_area) if cols.business_area is not None else None
    values = [v for v in row.values() if type(v) is str]
    if _SURROGATE.search("\x1f".join(values)):
        return Rejected(record_no, line_no, _escaped(key or "") or None, "invalid_utf8",
                        f"line {line_no} is not valid UTF-8", _payload(row))
    size = _utf8_size(values, cfg.max_record_bytes)
    if size > cfg.max_record_bytes:
        return Rejected(record_no, line_no, key, "record_too_large",
                        _too_large("row", size, cfg), _payload(row))
    rec = Record(record_no, line_no, key, area or None)
    problem = _transcript(_numbered(row.get(cols.transcript) or ""), rec, mapper,
                          "transcript line")
    if problem:
        return Rejected(record_no, line_no, key, problem[1], problem[2], _payload(row))
    return rec


def _numbered(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of a transcript with their numbers (1 for the first)."""
    return [(n, t) for n, t in enumerate(text.splitlines(), start=1) if t.strip()]


def _csv_rows(reader: Any, loose: list[Rejected], cfg: SourceConfig,
              header: list[str] | None) -> Iterator[tuple[int, dict[Any, Any]]]:
    """(line number, row) of every row the csv module can parse, keyed by column name (or
    by position without a header; cells beyond the header under None); a row it refuses (a
    cell over the size cap, say) is one quarantined record and the reading goes on."""
    for line_no, cells in _csv_lists(reader, loose, cfg):
        if not cells:  # a blank line
            continue
        if header is None:
            yield line_no, dict(enumerate(cells))
            continue
        row: dict[Any, Any] = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            row[None] = cells[len(header):]
        yield line_no, row


def _csv_lists(reader: Any, loose: list[Rejected],
               cfg: SourceConfig) -> Iterator[tuple[int, list[str]]]:
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            large = "field larger than field limit" in str(exc)
            loose.append(Rejected(
                0, start, None, "record_too_large" if large else "row_shape",
                f"line {start}: a cell is over the {cfg.max_record_bytes:,}-character limit of "
                "a record" if large else f"line {start}: {exc}", ""))
            continue
        yield start, row  # the line the row starts on: a quoted cell may span lines


class _Tracked:
    """The lines fed to the csv module, remembering the last: whether it ended with a line
    break tells a row that a cut split from a whole one."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.last = ""

    def __iter__(self) -> _Tracked:
        return self

    def __next__(self) -> str:
        self.last = next(self.lines)
        return self.last


def _held_back(src: _Input, groups: dict[str, list[tuple[int, Any]]], loose: list[Rejected],
               last_key: str | None, last_line: str, line_no: int) -> list[Rejected]:
    """On a cut file, the last row when the cut split it, and the dialogue the cut may split
    (rows of a dialogue usually run together): one `truncated_file` record, not stored."""
    if src.raw.damage is None:
        return []
    rows: list[Any] = []
    partial = bool(last_line) and not last_line.endswith(("\n", "\r"))
    if partial:  # the last row read is the cut one: take it back from where it went
        if loose and loose[-1].line_no == line_no:
            rows.append(loose.pop().payload)
        elif last_key is not None:
            rows.append(groups[last_key].pop()[1])
            if not groups[last_key]:
                del groups[last_key]
    group = groups.pop(last_key, []) if last_key is not None else []
    first = group[0][0] if group else line_no if partial else line_no + 1
    what = f"line {line_no} is incomplete" if partial else None
    if group:
        what = (f"{what} and dialogue '{excerpt(last_key or '')}' may go on past it"
                if what else f"dialogue '{excerpt(last_key or '')}' may go on past the cut")
        what += ", so it is held back"
    return [Rejected(0, first, last_key if group else None, "truncated_file",
                     _cut_reason(src, what, line_no + (not partial)),
                     _payload([r for _, r in group] + rows))]


READERS = {"json": _read_json, "jsonl": _read_jsonl, "csv": _read_csv, "lines": _read_lines}


def read_records(path: Path, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    """Every record of `path` in file order; raises FileUnreadable when none can be read."""
    if not path.exists():
        raise FileUnreadable(f"{path} does not exist")
    if not path.is_file():
        raise FileUnreadable(f"{path} is not a file")
    encoding = _sniff(path)
    return READERS[cfg.format](_open(path, encoding), cfg)
