"""Great Expectations checkpoint over the published tables, recorded in ops.quality_checks."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from csc.csconv.postfilter import PostfilterConfig
from csc.quality.verdict import fingerprint
from warehouse.csconv_store import published_digest, published_frames, write_quality
from warehouse.db import connect


@task(name="validate-published")
def validate_published(run_id: str) -> dict:
    # Great Expectations takes ~3 s to import: only the run that checks pays it, not every
    # process that imports a flow.
    from csc.quality.published import check_csconv

    cfg = PostfilterConfig.from_env()
    with connect() as con:
        dialogues, utterances = published_frames(con)
        checked = fingerprint(published_digest(con), cfg)
    result = check_csconv(dialogues, utterances, cfg)
    with connect() as con:
        write_quality(con, result.results, run_id, checked)
    create_table_artifact(result.results, key="csconv-quality",
                          description="Great Expectations checkpoint over the CSConv set")
    if not result.success:
        get_run_logger().error("published CSConv set fails its checks: %s",
                               result.describe_failures())
    return {"success": result.success, "expectations": len(result.results),
            "failed": len(result.failures)}
