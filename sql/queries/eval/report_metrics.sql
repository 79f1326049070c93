-- Every metric row of the given runs. Parameter: a list of run keys.
SELECT run_key, metric, strategy_id, predicted_id, phase, value, ci_low, ci_high, n_turns,
       status
FROM eval.metrics WHERE run_key IN (SELECT unnest(?::VARCHAR[]))
ORDER BY run_key, metric, strategy_id, predicted_id, phase
