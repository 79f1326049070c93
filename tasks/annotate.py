"""The label-agreement measure that follows annotation (csc.csconv.service)."""

from __future__ import annotations

from prefect import get_run_logger, task

from csc.csconv import service
from csc.progress import ratio


def agreement_line(overall: dict) -> str:
    """'label agreement over 500 turns: accuracy 0.981, kappa 0.979'."""
    return (f"label agreement over {overall['n']} turns: accuracy {ratio(overall['accuracy'])}, "
            f"kappa {ratio(overall['kappa'])}")


@task(name="label-agreement")
def measure_agreement(run_id: str) -> dict:
    overall = service.measure_agreement(run_id)
    unchanged = "" if overall["recorded"] else " (the same turns as last measured: no new row)"
    get_run_logger().info("%s%s", agreement_line(overall), unchanged)
    return overall
