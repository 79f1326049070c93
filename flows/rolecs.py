"""Stage 3: RoleCS, the training set. Personas -> (persona x topic) scenarios -> dialogues
simulated by the LLM roles and judged (csc-method §4)."""

from __future__ import annotations

from prefect import flow

from csc.rolecs.stage import RolecsStage, today
from tasks.llm import llm_preflight
from tasks.rolecs import check_near_duplicates, load_personas, publish_report
from tasks.runs import refuses_bad_config, run_ledger
from tasks.stage import run_stage


@flow(name="rolecs", log_prints=True)
@refuses_bad_config
def rolecs(per_language: int | None = 10, batch: str | None = None,
           personas: str | None = None, generate_personas: int = 0, persona_seed: int = 0,
           batch_size: int = 50, refresh: bool = False) -> dict:
    """Simulate `per_language` new dialogues per language for the batch (default: today's
    UTC date). A batch asks for its scenarios once: a rerun finishes them and adds none. Then
    the new dialogues are checked for near-duplicates, and the report is written; "accepted"
    in the summary counts this run's dialogues in marts.rolecs_accepted (judged 5/5 and not a
    near-duplicate), "kept" those the judge passed."""
    batch = batch or today()
    params = {"per_language": per_language, "batch": batch, "personas": personas,
              "generate_personas": generate_personas, "persona_seed": persona_seed,
              "batch_size": batch_size, "refresh": refresh}
    with run_ledger("rolecs", params) as run:
        llm = llm_preflight(stages=("rolecs",))
        loaded = load_personas(personas, generate_personas, persona_seed)
        made = run_stage(RolecsStage.ref(batch=batch), run["run_id"], limit=per_language,
                         batch_size=batch_size, refresh=refresh)
        checked = check_near_duplicates(run["run_id"])
        report = publish_report(llm["simulator"])
        run["summary"] = {"personas": loaded, **made.as_dict(), "near_duplicates": checked,
                          "accepted": checked["accepted"], "report": report}
    return run["summary"]
