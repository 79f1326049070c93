-- A run's predictions of the given dialogues, in order. Parameters: run_key, a list of
-- csconv_ids.
SELECT csconv_id, utt_index, pred_strategy, pred_text, parse_status, error
FROM eval.predictions
WHERE run_key = ? AND csconv_id IN (SELECT unnest(?::VARCHAR[]))
ORDER BY csconv_id, utt_index
