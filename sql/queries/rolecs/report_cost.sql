-- What the RoleCS stage's LLM calls cost, all runs, from marts.llm_usage (the one definition
-- of LLM cost): dollars, calls, and whether any call went to the simulator.
SELECT round(sum(cost_usd), 6) AS cost_usd, coalesce(sum(calls), 0)::BIGINT AS calls,
       coalesce(bool_or(simulator), false) AS simulator
FROM marts.llm_usage WHERE stage = 'rolecs'
