-- The report's strategy-transition matrix of the accepted set
-- (marts.rolecs_strategy_transitions).
SELECT language, from_strategy_id, to_strategy_id, transitions, pct
FROM marts.rolecs_strategy_transitions
ORDER BY language, from_strategy_id, to_strategy_id
