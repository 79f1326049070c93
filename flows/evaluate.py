"""Stage 5: evaluation (csc-method §5). Every registered model predicts the strategy and reply
of each supporter turn of the current CSConv set, in both settings; then the metrics and the
leaderboard. Only what is missing is predicted, and only changed runs are measured again."""

from __future__ import annotations

from prefect import flow

from csc.eval.context import SETTINGS
from csc.eval.judge_pairwise import PairwiseStage
from csc.eval.judge_turns import TurnJudgeStage
from csc.eval.predict import PredictionStage
from csc.eval.registry import load_registry
from csc.llm.settings import load_settings
from csc.settings import current
from tasks.evaluate import (
    compute_metrics,
    predict_baseline,
    publish_eval_report,
    with_finetuned,
)
from tasks.runs import refuses_bad_config, run_ledger
from tasks.stage import run_stage


@flow(name="evaluate", log_prints=True)
@refuses_bad_config
def evaluate(models: list[str] | None = None, settings: list[str] | None = None,
             limit: int | None = None, batch_size: int = 50) -> dict:
    """Evaluate `models` (registry names; default every registered one, and every model a
    fine-tune job produced) in `settings` (default both); `limit` caps the new dialogues per
    language and run."""
    chosen_settings = list(settings or SETTINGS)
    params = {"models": models, "settings": chosen_settings, "limit": limit,
              "batch_size": batch_size}
    with run_ledger("evaluate", params) as run:
        registry = with_finetuned(load_registry(current().eval_models, _endpoint()))
        entries = [e for e in registry if models is None or e.name in models]
        summary: dict = {"runs": [], "judges": []}
        for entry in entries:
            for setting in chosen_settings:
                if entry.is_baseline:
                    summary["runs"].append(predict_baseline(entry, setting, limit))
                else:
                    made = run_stage(PredictionStage.ref(model=entry.name, setting=setting),
                                     run["run_id"], limit=limit, batch_size=batch_size)
                    summary["runs"].append({"model": entry.name, "setting": setting,
                                            **made.as_dict()})
        # LLM judges (beyond the paper) of every model's turns, and of its turns against the
        # reference model's; baselines are not judged: a judge call per turn costs the same
        # for them as for a model, and the reference baseline is already every model's foil.
        judged = [e.name for e in entries if not e.is_baseline]
        unjudged = _judges_missing() if judged else None
        reference = current().eval_reference_model
        for name in judged if unjudged is None else ():
            judges = (TurnJudgeStage,) if name == reference else (TurnJudgeStage, PairwiseStage)
            for setting in chosen_settings:
                for judge in judges:
                    made = run_stage(judge.ref(model=name, setting=setting), run["run_id"],
                                     limit=limit, batch_size=batch_size)
                    summary["judges"].append({"model": name, "setting": setting,
                                              **made.as_dict()})
        if unjudged:
            summary["judges"].append({"skipped": unjudged})
        summary["metrics"] = compute_metrics()
        summary["report"] = publish_eval_report()["report"]
        run["summary"] = summary
    return run["summary"]


def _judges_missing() -> str | None:
    """Why the judge roles cannot be asked (no model for them), or None when they can."""
    from csc.llm.settings import LLMNotConfigured
    from schemas.llm import Role

    try:
        load_settings(roles=(Role.TURN_JUDGE, Role.PAIRWISE_JUDGE))
    except LLMNotConfigured as exc:
        return str(exc)
    return None


def _endpoint():
    """The configured endpoint's settings, or None when there is none (baselines only)."""
    from csc.llm.settings import LLMNotConfigured
    from schemas.llm import Role

    try:
        return load_settings(roles=(Role.CANDIDATE,))
    except LLMNotConfigured:
        return None
