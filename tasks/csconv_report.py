"""The CSConv funnel report: a Prefect markdown artifact and a file (`<output dir>/reports/`)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact

from csc.csconv.report import funnel, render
from csc.errors import StorageError
from warehouse.csconv_store import funnel_numbers
from warehouse.db import connect, output_dir


def write_report(path: Path, markdown: str) -> None:
    """Write the whole report or leave the old one; a full or read-only disk is one line
    naming the file (a StorageError), not a traceback."""
    tmp = path.with_suffix(".md.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(markdown, encoding="utf-8")
        tmp.replace(path)  # never a half-written report
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise StorageError(
            f"cannot write the funnel report {path} ({exc.strerror or exc}). Free space in "
            f"{path.parent} or make it writable, or set CSC_OUT to another folder; then run "
            "again") from exc


@task(name="csconv-funnel")
def publish_funnel(simulator: bool) -> dict:
    with connect() as con:
        numbers = funnel_numbers(con)
    markdown = render(numbers, simulator)
    path = output_dir() / "reports" / "csconv_funnel.md"
    write_report(path, markdown)
    create_markdown_artifact(markdown, key="csconv-funnel", description="CSConv funnel")
    return funnel(numbers) | {"report": str(path)}
