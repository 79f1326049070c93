-- Every eval.metrics row, with whether its 95% interval (when it has one) holds its value.
SELECT run_key, metric, strategy_id, predicted_id, phase, value, ci_low, ci_high, n_turns,
       status,
       ci_low IS NULL OR ci_high IS NULL OR value IS NULL
           OR (ci_low <= value + 1e-9 AND value <= ci_high + 1e-9) AS interval_holds_value
FROM eval.metrics
