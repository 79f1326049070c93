-- The LLM judge's per-turn scores (no reasons: only the fields the gate checks).
SELECT run_key, csconv_id, utt_index, judge_version, resolution, empathy, appropriateness,
       status, error
FROM eval.turn_judgements
