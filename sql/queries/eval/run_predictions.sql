-- A run's predictions over the current CSConv set: the frame the metrics read
-- (csc/eval/types.py). Parameter: run_key.
SELECT p.csconv_id AS dialogue_id, p.utt_index::BIGINT AS turn, p.language,
       p.gold_strategy::BIGINT AS gold_strategy, p.pred_strategy::BIGINT AS pred_strategy,
       p.gold_text, p.pred_text, p.parse_status
FROM eval.predictions p
WHERE p.run_key = ? AND p.csconv_id IN (SELECT csconv_id FROM marts.csconv_current)
ORDER BY p.csconv_id, p.utt_index
