"""The CSV (and TSV) format.

Either one utterance per row, the rows of a dialogue grouped by its id column (and sorted by an
order column, when the config names one), or one dialogue per row with its whole transcript in
one cell. A row the csv module refuses is one quarantined record, not a failed file; on a
damaged file the row and the dialogue a cut may split are held back as `truncated_file`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csc.ingest.readers.decoding import Input, cut_reason
from csc.ingest.readers.records import (
    READ_ERRORS,
    SURROGATE,
    FileUnreadable,
    Record,
    Rejected,
    escaped,
    excerpt,
    payload,
    too_large,
    utf8_size,
)
from csc.ingest.readers.turns import TurnMapper, numbered, transcript
from csc.ingest.sources import SourceConfig


def read_csv(src: Input, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    path = src.path
    cols = cfg.csv
    mapper = TurnMapper(cfg)
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
                                          payload(row)))
                    continue
                groups.setdefault(key, []).append((line_no, row))
                last_key = key
    except (*READ_ERRORS, csv.Error) as exc:
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
                               f"column '{cols.order}' holds a non-number", payload(
                                   [r for _, r in rows]))
                continue
        area = rows[0][1].get(cols.business_area) if cols.business_area is not None else None
        rec = Record(record_no, rows[0][0], key, area or None)
        problem = None
        size = utf8_size([v for _, r in rows for v in r.values() if type(v) is str],
                          cfg.max_record_bytes)
        if size > cfg.max_record_bytes:
            problem = ("record_too_large", too_large(f"dialogue '{excerpt(key)}'", size, cfg))
        for line_no, row in [] if problem else rows:
            text = row.get(cols.text)
            if SURROGATE.search("\x1f".join(v for v in row.values() if type(v) is str)):
                problem = ("invalid_utf8", f"line {line_no} is not valid UTF-8")
                break
            reason = mapper.add(rec, row.get(cols.speaker), text,
                                row.get(cols.strategy) if cols.strategy is not None else None,
                                "line", line_no)
            if reason:
                problem = reason
                break
        if problem:
            yield Rejected(record_no, rows[0][0], escaped(key), problem[0], problem[1],
                           payload([r for _, r in rows]))
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


def _csv_transcripts(src: Input, cfg: SourceConfig, rows: Iterator[tuple[int, dict]],
                     lines: _Tracked, loose: list[Rejected]) -> Iterator[Record | Rejected]:
    """One dialogue per row, its whole transcript as `Speaker: text` lines in one cell. One
    row behind the reading, so that a row a cut splits is not stored."""
    mapper = TurnMapper(cfg)
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
            cut_reason(src, f"line {line_no} is incomplete" if partial else None,
                        line_no + (not partial)), payload(pending[1] if partial else "")))
    elif pending is not None:
        record_no += 1
        yield _transcript_record(pending, record_no, cfg, mapper)
    for rej in loose:
        record_no += 1
        rej.record_no = record_no
        yield rej


def _transcript_record(item: tuple[int, dict], record_no: int, cfg: SourceConfig,
                       mapper: TurnMapper) -> Record | Rejected:
    line_no, row = item
    cols = cfg.csv
    key = (row.get(cols.dialogue_id) or "").strip() or None
    area = row.get(cols.business_area) if cols.business_area is not None else None
    values = [v for v in row.values() if type(v) is str]
    if SURROGATE.search("\x1f".join(values)):
        return Rejected(record_no, line_no, escaped(key or "") or None, "invalid_utf8",
                        f"line {line_no} is not valid UTF-8", payload(row))
    size = utf8_size(values, cfg.max_record_bytes)
    if size > cfg.max_record_bytes:
        return Rejected(record_no, line_no, key, "record_too_large",
                        too_large("row", size, cfg), payload(row))
    rec = Record(record_no, line_no, key, area or None)
    problem = transcript(numbered(row.get(cols.transcript) or ""), rec, mapper,
                          "transcript line")
    if problem:
        return Rejected(record_no, line_no, key, problem[1], problem[2], payload(row))
    return rec


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


def _held_back(src: Input, groups: dict[str, list[tuple[int, Any]]], loose: list[Rejected],
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
                     cut_reason(src, what, line_no + (not partial)),
                     payload([r for _, r in group] + rows))]
