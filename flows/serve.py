"""Serve every stage as a Prefect deployment with its schedule: `python -m flows.serve`.

Operators then start any stage by hand with `prefect deployment run '<flow>/<deployment>'`.
Needs PREFECT_API_URL pointing at a running Prefect server (`prefect server start`).
"""

from __future__ import annotations

import os

from prefect import serve

from flows.csconv import csconv
from flows.ingest import ingest
from flows.nightly import nightly

NIGHTLY_CRON = os.environ.get("CSC_NIGHTLY_CRON", "0 2 * * *")


def deployments() -> list:
    return [
        nightly.to_deployment(name="nightly", cron=NIGHTLY_CRON,
                              description="Nightly refresh of every dataset."),
        ingest.to_deployment(name="manual", description="Ingest a file or folder on demand."),
        csconv.to_deployment(name="manual", description="Build CSConv from what is pending."),
    ]


if __name__ == "__main__":
    serve(*deployments())
