-- Supporter turns per strategy in the current CSConv set, all languages.
SELECT strategy_id, sum(turns) AS turns FROM marts.csconv_strategy_distribution
GROUP BY 1 ORDER BY 1
