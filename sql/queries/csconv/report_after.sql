-- The current CSConv set: mean utterances, and strategy use excluding Others (%) weighted by
-- supporter turns.
SELECT round(avg(n_utterances), 2) AS mean_utterances,
       round(100 * sum(strategy_use * n_supporter) / nullif(sum(n_supporter), 0), 2)
           AS strategy_use_pct
FROM marts.csconv_current
