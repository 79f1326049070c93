"""The CSConv funnel report: a Prefect markdown artifact and a file (`<output dir>/reports/`)."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact

from csc.csconv.report import funnel, render
from warehouse.csconv_store import funnel_numbers
from warehouse.db import connect, output_dir


@task(name="csconv-funnel")
def publish_funnel(simulator: bool) -> dict:
    with connect() as con:
        numbers = funnel_numbers(con)
    markdown = render(numbers, simulator)
    path = output_dir() / "reports" / "csconv_funnel.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(markdown, encoding="utf-8")
    tmp.replace(path)  # never a half-written report
    create_markdown_artifact(markdown, key="csconv-funnel", description="CSConv funnel")
    return funnel(numbers) | {"report": str(path)}
