"""The nightly's stage runner: a failed stage stops only what needs it, the run then fails
naming each failure, and the summary carries each stage's figures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tasks.dag import Dag, StagesFailed, figures


@dataclass
class State:
    value: object = None
    message: str | None = None
    name: str = "Completed"

    def is_completed(self) -> bool:
        return self.name == "Completed"

    def result(self, raise_on_failure: bool = True):
        return self.value


def stage(value=None, fails: str | None = None):
    calls = []

    def call(*args, return_state: bool, **kwargs):
        assert return_state is True
        calls.append((args, kwargs))
        return State(message=fails, name="Failed") if fails else State(value)

    call.calls = calls
    return call


def test_a_failed_stage_stops_only_what_needs_it():
    dag = Dag()
    ingest, csconv, rolecs, evaluate = (stage({"new": 3}), stage(fails="csconv: boom"),
                                        stage({"input": 2}), stage({}))
    dag.run("ingest", ingest, path="x")
    dag.run("csconv", csconv, needs=("ingest",))
    dag.run("rolecs", rolecs)
    dag.run("evaluate", evaluate, needs=("csconv", "rolecs"))
    assert ingest.calls == [((), {"path": "x"})] and len(rolecs.calls) == 1
    assert evaluate.calls == []
    assert {n: s["status"] for n, s in dag.stages.items()} == {
        "ingest": "completed", "csconv": "failed", "rolecs": "completed",
        "evaluate": "skipped"}
    assert dag.stages["evaluate"]["reason"] == "needs csconv, which did not complete"
    assert dag.stages["ingest"]["new"] == 3  # the result kept when no shape is given
    with pytest.raises(StagesFailed) as failed:
        dag.raise_if_failed()
    assert str(failed.value) == "csconv: boom (csconv failed); skipped as a result: evaluate"


def test_one_cause_of_several_failures_is_said_once_first():
    dag = Dag()
    dag.run("csconv", stage(fails="the LLM cache is corrupt"))
    dag.run("rolecs", stage(fails="the LLM cache is corrupt"))
    dag.run("finetune", stage(fails="provider down"))
    dag.run("evaluate", stage({}), needs=("csconv", "rolecs"))
    with pytest.raises(StagesFailed) as failed:
        dag.raise_if_failed()
    assert str(failed.value) == ("the LLM cache is corrupt (csconv and rolecs failed); "
                                 "provider down (finetune failed); skipped as a result: "
                                 "evaluate")


def test_a_skipped_stage_skips_its_own_dependants_and_all_complete_raises_nothing():
    dag = Dag()
    dag.run("a", stage(fails="no"))
    dag.run("b", stage({}), needs=("a",))
    dag.run("c", stage({}), needs=("b",))
    assert dag.stages["c"] == {"status": "skipped", "reason": "needs b, which did not complete"}
    ok = Dag()
    ok.run("a", stage({"x": 1}), shape=lambda r: {"y": r["x"] + 1})
    assert ok.stages["a"]["y"] == 2 and "x" not in ok.stages["a"]
    ok.raise_if_failed()


def test_figures_sum_the_llm_work_of_every_listed_run_once():
    evaluate = {"runs": [{"llm": {"calls": 3, "cache_hits": 1, "cost_usd": 0.25}, "dead": 1},
                         {"model": "prior"},
                         {"llm": {"calls": 2, "cache_hits": 2, "cost_usd": 0.5}, "dead": 0}],
                "judges": [{"llm": {"calls": 1, "cache_hits": 0, "cost_usd": 0.125},
                            "dead": 2}],
                "llm": {"calls": 999}}  # a total beside the parts is not counted again
    assert figures(evaluate) == {"dead_letters": 3, "llm": {"calls": 6, "cache_hits": 3,
                                                            "cost_usd": 0.875}}
    assert figures({"llm": {"calls": 4, "cache_hits": 4, "cost_usd": 0}, "dead": 0}) == {
        "dead_letters": 0, "llm": {"calls": 4, "cache_hits": 4, "cost_usd": 0}}
    assert figures({"new": 5}) == {"dead_letters": 0}  # no LLM: no LLM figures
    assert figures(None) == {"dead_letters": 0}


def test_the_summary_table_has_a_row_per_stage_and_escapes_pipes():
    dag = Dag()
    dag.run("csconv", stage({"llm": {"calls": 7, "cache_hits": 5, "cost_usd": 0.01},
                             "dead": 1}))
    dag.run("rolecs", stage(fails="a | b"))
    lines = dag.markdown().splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| csconv | completed | ") and "| 7 | 5 | 0.01 | 1 |" in lines[2]
    assert lines[3].endswith("| a / b |")


def test_a_failure_says_what_its_exception_says_not_prefects_wrapping():
    dag = Dag()

    def raised(*args, return_state, **kwargs):
        return State(ValueError("gate failed: 1 row"), "Task run encountered an exception "
                     "ValueError: gate failed: 1 row", "Failed")

    dag.run("quality", raised)
    dag.run("other", stage(fails="only a message"))
    assert dag.stages["quality"]["error"] == "gate failed: 1 row"
    assert dag.stages["other"]["error"] == "only a message"


def test_progress_is_told_before_each_stage_and_at_the_end_and_never_fails_the_night():
    told: list[str] = []
    dag = Dag(total=3, on_change=lambda d, running: told.append(d.progress_line(running)))
    dag.run("ingest", stage({"llm": {"calls": 4, "cache_hits": 1, "cost_usd": 0.5}}))
    dag.run("csconv", stage(fails="down"))
    dag.run("evaluate", stage({}), needs=("csconv",))  # skipped: not told as running
    dag.finish()
    assert [t.split(";")[0] for t in told] == [
        "0/3 stages (-)", "1/3 stages (ingest ✓)",
        "3/3 stages (ingest ✓, csconv ✗, evaluate -)"]
    assert [t.split("; ")[1] for t in told] == ["running ingest", "running csconv", "finished"]
    assert told[-1].endswith("4 LLM calls, $0.5000 so far")

    def broken(d, running):
        raise RuntimeError("the Prefect API is down")

    quiet = Dag(total=1, on_change=broken)
    quiet.run("a", stage({}))
    quiet.finish()
    assert quiet.stages["a"]["status"] == "completed"
