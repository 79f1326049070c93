-- What a run's metrics are computed on: its predictions over the current CSConv set, as a
-- hash (any added, removed or changed turn changes it) and a count. Parameter: run_key.
SELECT coalesce(md5(string_agg(p.csconv_id || ':' || p.utt_index || ':' || p.parse_status
                               || ':' || coalesce(p.pred_strategy::VARCHAR, '-'), ','
                               ORDER BY p.csconv_id, p.utt_index)), '') AS fingerprint,
       count(*) AS n_turns
FROM eval.predictions p
WHERE p.run_key = ? AND p.csconv_id IN (SELECT csconv_id FROM marts.csconv_current)
