-- A run's turn judgements over the current CSConv set, under its newest judge version (the
-- one judged last): what the judge_* metrics are computed on. Parameter: run_key.
WITH chosen AS (
    SELECT judge_version FROM eval.turn_judgements WHERE run_key = $1
    GROUP BY judge_version ORDER BY max(created_at) DESC, judge_version DESC LIMIT 1)
SELECT j.csconv_id AS dialogue_id, j.utt_index::BIGINT AS turn, j.judge_version, j.status,
       j.resolution::BIGINT AS resolution, j.empathy::BIGINT AS empathy,
       j.appropriateness::BIGINT AS appropriateness
FROM eval.turn_judgements j JOIN chosen USING (judge_version)
WHERE j.run_key = $1 AND j.csconv_id IN (SELECT csconv_id FROM marts.csconv_current)
ORDER BY j.csconv_id, j.utt_index
