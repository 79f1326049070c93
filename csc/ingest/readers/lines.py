"""The line format: `Speaker: text` lines, one dialogue per block.

Blocks are separated by a blank line or a `---` line; each block is one record, parsed by the
shared `transcript` parser. On a damaged file the last block, which nothing closed, is held back
as `truncated_file` rather than stored half.
"""

from __future__ import annotations

from collections.abc import Iterator

from csc.ingest.readers.decoding import Input, cut_reason
from csc.ingest.readers.records import (
    READ_ERRORS,
    SURROGATE,
    FileUnreadable,
    Record,
    Rejected,
    payload,
    too_large,
    utf8_size,
)
from csc.ingest.readers.turns import TurnMapper, transcript
from csc.ingest.sources import SourceConfig


def read_lines(src: Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    path = src.path
    mapper = TurnMapper(cfg)
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
        size = utf8_size([text for _, text in block], cfg.max_record_bytes) + len(block) - 1
        if size > cfg.max_record_bytes:
            return Rejected(record_no, first, rec.source_dialogue_id, "record_too_large",
                            too_large("dialogue", size, cfg), payload(raw))
        if SURROGATE.search(raw):
            bad = next(n for n, t in block if SURROGATE.search(t))
            return Rejected(record_no, bad, rec.source_dialogue_id, "invalid_utf8",
                            f"line {bad} is not valid UTF-8", payload(raw))
        problem = transcript(block, rec, mapper, "line")
        if problem:
            return Rejected(record_no, problem[0], rec.source_dialogue_id, problem[1],
                            problem[2], payload(raw))
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
    except READ_ERRORS as exc:
        raise FileUnreadable(f"cannot read {path}: {exc}") from None
    if src.raw.damage is None:
        out = flush()
        if out is not None:
            yield out
        return
    # Nothing closed the last block: the cut may have split that dialogue, so it is held back.
    first = block[0][0] if block else n + 1
    yield Rejected(record_no + 1, first, None, "truncated_file", cut_reason(
        src, f"the dialogue from line {first} is incomplete" if block else None, first),
        payload("\n".join(text for _, text in block)))
