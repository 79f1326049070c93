"""CSConv work outside the LLM stages (which run on csc.kit): the label-agreement measure."""

from __future__ import annotations

from csc.csconv.annotate import agreement_rows, measured_key
from warehouse.csconv_store import agreement_turns, write_agreement
from warehouse.db import connect


def measure_agreement(run_id: str) -> dict:
    """Agreement of the rewrite's labels with the annotator's: the overall row, and whether
    it was stored. It is stored (under this run) only when the turns it measured differ from
    the newest stored measurement's, so a rerun with nothing new adds no row."""
    with connect() as con:
        turns = agreement_turns(con)
        rows = agreement_rows([(rewrite, annotator) for _, _, rewrite, annotator in turns])
        recorded = write_agreement(con, rows, run_id, measured_key(turns))
    return rows[0] | {"recorded": recorded}
