"""The JSON and JSON Lines formats.

A JSON file is one array of dialogues (found at the `records` path, if set); a JSON Lines file
is one dialogue per line, so a bad line costs that line only. Both hand each dialogue object to
`DialogueParser`, apply the record size cap, and on a damaged file keep the dialogues before the
damage: JSON Lines up to the cut line, a top-level JSON array up to its cut element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import orjson

from csc.ingest.readers.decoding import Input, cut_reason
from csc.ingest.readers.records import (
    PAYLOAD_LIMIT,
    FileUnreadable,
    Record,
    Rejected,
    dotted_get,
    dotted_path,
    payload,
    too_large,
)
from csc.ingest.readers.turns import DialogueParser
from csc.ingest.sources import SourceConfig


def read_json(src: Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
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
    items = dotted_get(doc, dotted_path(cfg.records)) if cfg.records else doc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise FileUnreadable(
            f"{path}: expected a JSON array of dialogues"
            + (f" at '{cfg.records}'" if cfg.records else "")
        )
    parser = DialogueParser(cfg)
    for i, obj in enumerate(items, start=1):
        size = len(orjson.dumps(obj))  # the element as compact JSON: its size in JSON Lines
        if size > cfg.max_record_bytes:
            yield Rejected(i, None, None, "record_too_large", too_large("record", size, cfg),
                           payload(orjson.dumps(obj)[:PAYLOAD_LIMIT]))
        else:
            yield parser.parse(obj, i, None, obj)


_WS = re.compile(r"\s*")


def _salvage_array(src: Input, data: bytes, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    """The whole dialogues of a top-level JSON array that a damaged file cuts short, then the
    cut one as `truncated_file`. A cut document of any other shape has no records to salvage."""
    text = data.decode("utf-8", "surrogateescape")
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    if cfg.records or not text.startswith("[", pos):
        raise FileUnreadable(cut_reason(
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
    parser = DialogueParser(cfg)
    for i, obj in enumerate(items, start=1):
        yield parser.parse(obj, i, None, obj)
    n, tail = len(items) + 1, text[pos:]
    yield Rejected(n, None, None, "truncated_file", cut_reason(
        src, f"dialogue {n} of the array is incomplete" if tail.strip() else None, n,
        "dialogues"), payload(tail))


def read_jsonl(src: Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    parser = DialogueParser(cfg)
    record_no = 0
    line_no = 0
    with src.stream as fh:
        for line_no, line in enumerate(fh, start=1):
            if src.raw.damage is not None and not line.endswith(b"\n"):
                yield Rejected(record_no + 1, line_no, None, "truncated_file", cut_reason(
                    src, f"line {line_no} is incomplete", line_no), payload(line))
                return
            if not line.strip():
                continue
            record_no += 1
            size = len(line.rstrip(b"\r\n"))
            if size > cfg.max_record_bytes:
                yield Rejected(record_no, line_no, None, "record_too_large",
                               too_large("record", size, cfg), payload(line[:PAYLOAD_LIMIT]))
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                try:
                    line.decode("utf-8")
                    check, reason = "malformed_json", f"malformed JSON: {exc}"
                except UnicodeDecodeError as uexc:
                    check, reason = "invalid_utf8", f"not valid UTF-8 at byte {uexc.start}"
                yield Rejected(record_no, line_no, None, check, reason, payload(line))
                continue
            yield parser.parse(obj, record_no, line_no, line)
    if src.raw.damage is not None:
        yield Rejected(record_no + 1, line_no + 1, None, "truncated_file",
                       cut_reason(src, None, line_no + 1), "")
