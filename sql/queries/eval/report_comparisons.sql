-- Comparisons of the given runs with the run below them. Parameter: a list of run keys.
SELECT run_key_a, run_key_b, metric, diff, ci_low, ci_high, significant
FROM eval.comparisons WHERE run_key_a IN (SELECT unnest(?::VARCHAR[]))
