"""Turn a batch's outcomes into rows of the csconv.* tables (no I/O here)."""

from __future__ import annotations

import json

from csc.csconv.stage import Outcome, csconv_id
from csc.framework import OTHERS


def outcome_rows(outcomes: list[Outcome], versions: dict[str, str], areas: dict[str, str | None],
                 run_id: str) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {t: [] for t in (
        "csconv.llm_prefilter", "csconv.rewrites", "csconv.judgements", "csconv.dialogues",
        "csconv.utterances", "csconv.rejects")}
    for o in outcomes:
        version = versions[o.language]
        key = {"dialogue_id": o.dialogue_id, "pipeline_version": version, "run_id": run_id}
        if o.prefilter:
            tables["csconv.llm_prefilter"].append(key | o.prefilter)
        if o.rewrite:
            rw = dict(o.rewrite)
            rw["turns"] = json.dumps(rw["turns"], ensure_ascii=False)
            tables["csconv.rewrites"].append(key | rw)
        if o.judgement:
            tables["csconv.judgements"].append(key | o.judgement)
        if o.status == "rejected":
            tables["csconv.rejects"].append(key | {"step": o.step, "reason": o.reason or ""})
        elif o.status == "kept":
            cid = csconv_id(o.dialogue_id, version)
            turns = o.rules.turns
            supporter = [t for t in turns if t.speaker == "supporter"]
            used = sum(t.strategy_id != OTHERS for t in supporter)
            tables["csconv.dialogues"].append(key | {
                "csconv_id": cid, "language": o.language,
                "business_area": areas.get(o.dialogue_id),
                "n_utterances": len(turns), "n_supporter": len(supporter),
                "strategy_use": used / len(supporter) if supporter else 0.0,
                "rewriter_model": o.rewrite["model"],
                "rewrite_prompt": o.rewrite["prompt_version"],
                "judge_model": o.judgement["model"],
            })
            tables["csconv.utterances"].extend(
                {"csconv_id": cid, "utt_index": i, "speaker": t.speaker,
                 "strategy_id": t.strategy_id, "strategy_label": t.strategy_label,
                 "stage": t.phase, "text": t.text} for i, t in enumerate(turns))
    return tables
