-- LLM usage and cost per run and stage; simulator models (sim-*) are flagged.
CREATE OR REPLACE VIEW marts.llm_usage AS
SELECT run_id, stage, role, model,
       model LIKE 'sim-%'                         AS simulator,
       count(*)                                   AS calls,
       count(*) FILTER (WHERE cache_hit)          AS cache_hits,
       count(*) FILTER (WHERE status = 'dead')    AS dead,
       sum(attempts)                              AS attempts,
       sum(reasks)                                AS reasks,
       sum(input_tokens) FILTER (WHERE NOT cache_hit)     AS input_tokens,
       sum(output_tokens) FILTER (WHERE NOT cache_hit)    AS output_tokens,
       sum(reasoning_tokens) FILTER (WHERE NOT cache_hit) AS reasoning_tokens,
       round(sum(cost_usd), 6)                    AS cost_usd,
       round(avg(latency_ms) FILTER (WHERE NOT cache_hit), 1) AS mean_latency_ms
FROM ops.llm_calls
GROUP BY ALL;
