-- A run's pairwise verdicts over the current CSConv set, against the reference run and under
-- the judge version it was compared with last: what win_rate is computed on.
-- Parameter: run_key.
WITH chosen AS (
    SELECT reference_run_key, judge_version FROM eval.pairwise WHERE run_key = $1
    GROUP BY reference_run_key, judge_version
    ORDER BY max(created_at) DESC, reference_run_key DESC, judge_version DESC LIMIT 1)
SELECT w.csconv_id AS dialogue_id, w.utt_index::BIGINT AS turn, w.reference_run_key,
       w.judge_version, w.shown_first, w.verdict, w.status
FROM eval.pairwise w JOIN chosen USING (reference_run_key, judge_version)
WHERE w.run_key = $1 AND w.csconv_id IN (SELECT csconv_id FROM marts.csconv_current)
ORDER BY w.csconv_id, w.utt_index
