-- (csconv_id, utt_index, rewrite's strategy, independent annotator's strategy) per supporter
-- turn of the current CSConv set, the latest annotation of each turn, in turn order: the turns
-- name what a measurement measured (csc.csconv.annotate.measured_key).
SELECT u.csconv_id, u.utt_index, u.strategy_id, a.strategy_id
FROM marts.csconv_current c
JOIN csconv.utterances u USING (csconv_id)
JOIN csconv.annotations a ON a.target_kind = 'csconv' AND a.target_id = u.csconv_id
     AND a.utt_index = u.utt_index
WHERE u.speaker = 'supporter' AND u.strategy_id IS NOT NULL AND a.strategy_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY u.csconv_id, u.utt_index
                           ORDER BY a.created_at DESC) = 1
ORDER BY u.csconv_id, u.utt_index
