-- The report's strategy distribution of the accepted set (marts.rolecs_strategy_distribution).
SELECT language, strategy_id, turns, pct FROM marts.rolecs_strategy_distribution
ORDER BY language, strategy_id
