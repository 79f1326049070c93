"""Read raw files into dialogue records, or into rejections that say which record failed and why.

A *record* is the unit a source stores one dialogue in: a JSON array element, a JSONL line, the
rows of a CSV that share a dialogue id, or a blank-line-separated block of a line file. Anything
that cannot be tied to a dialogue (a malformed JSON line, say) is a record of its own. This
package is split by concern: `records` (what a reader yields, shared helpers), `decoding`
(bytes to UTF-8), `turns` (speakers, turns and transcripts), and one module per format.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from csc.ingest.readers.csv_format import read_csv
from csc.ingest.readers.decoding import open_input, sniff
from csc.ingest.readers.json_formats import read_json, read_jsonl
from csc.ingest.readers.lines import read_lines
from csc.ingest.readers.records import FileUnreadable, Record, Rejected, excerpt
from csc.ingest.sources import SourceConfig

__all__ = ["READERS", "FileUnreadable", "Record", "Rejected", "excerpt", "read_records"]

READERS = {"json": read_json, "jsonl": read_jsonl, "csv": read_csv, "lines": read_lines}


def read_records(path: Path, cfg: SourceConfig) -> Iterator[Record | Rejected]:
    """Every record of `path` in file order; raises FileUnreadable when none can be read."""
    if not path.exists():
        raise FileUnreadable(f"{path} does not exist")
    if not path.is_file():
        raise FileUnreadable(f"{path} is not a file")
    encoding = sniff(path)
    return READERS[cfg.format](open_input(path, encoding), cfg)
