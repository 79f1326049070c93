"""CSConv work outside the LLM stages (which run on csc.kit): the label-agreement measure."""

from __future__ import annotations

from csc.csconv.annotate import agreement_rows
from warehouse.csconv_store import agreement_pairs, write_agreement
from warehouse.db import connect


def measure_agreement(run_id: str) -> dict:
    """Agreement of the rewrite's labels with the annotator's, stored for this run."""
    with connect() as con:
        rows = agreement_rows(agreement_pairs(con))
        write_agreement(con, rows, run_id)
    return rows[0]
