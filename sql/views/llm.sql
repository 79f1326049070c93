-- LLM usage and cost per run and stage; simulator models (sim-*) are flagged. Sums are cast to
-- BIGINT: DuckDB's sum() of integers is HUGEINT, which pandas reads as float64.
CREATE OR REPLACE VIEW marts.llm_usage AS
SELECT run_id, stage, role, model,
       model LIKE 'sim-%'                         AS simulator,
       count(*)                                   AS calls,
       count(*) FILTER (WHERE cache_hit)          AS cache_hits,
       count(*) FILTER (WHERE status = 'dead')    AS dead,
       sum(attempts)::BIGINT                      AS attempts,
       sum(reasks)::BIGINT                        AS reasks,
       sum(input_tokens) FILTER (WHERE NOT cache_hit)::BIGINT     AS input_tokens,
       sum(output_tokens) FILTER (WHERE NOT cache_hit)::BIGINT    AS output_tokens,
       sum(reasoning_tokens) FILTER (WHERE NOT cache_hit)::BIGINT AS reasoning_tokens,
       round(sum(cost_usd), 6)                    AS cost_usd,
       round(avg(latency_ms) FILTER (WHERE NOT cache_hit), 1) AS mean_latency_ms
FROM ops.llm_calls
GROUP BY ALL;
