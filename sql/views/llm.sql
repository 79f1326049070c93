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

COMMENT ON VIEW marts.llm_usage IS 'LLM calls, cache hits, dead letters, tokens, cost and mean latency per run, stage, role and model (ops.llm_calls). Tokens and latency count calls that reached the endpoint, not cache hits.';
COMMENT ON COLUMN marts.llm_usage.run_id IS 'The flow run (ops.runs.run_id).';
COMMENT ON COLUMN marts.llm_usage.stage IS 'The pipeline stage that asked: csconv, annotate, rolecs, eval, ...';
COMMENT ON COLUMN marts.llm_usage.role IS 'The LLM role within the stage (rewriter, judge, annotator, ...).';
COMMENT ON COLUMN marts.llm_usage.model IS 'The endpoint model; sim-* is the offline simulator, never a model.';
COMMENT ON COLUMN marts.llm_usage.simulator IS 'True for the offline simulator''s models (sim-*): a pipeline check, not a cost.';
COMMENT ON COLUMN marts.llm_usage.calls IS 'Calls journalled, cache hits included.';
COMMENT ON COLUMN marts.llm_usage.cache_hits IS 'Calls answered from the local cache (no request sent).';
COMMENT ON COLUMN marts.llm_usage.dead IS 'Calls that failed for good (ops.llm_dead_letter).';
COMMENT ON COLUMN marts.llm_usage.cost_usd IS 'Estimated cost in US dollars (cache hits cost 0).';

-- LLM cost per UTC day, stage and model: what the nightly runs cost over time. A day is the
-- day the call was journalled (ops.llm_calls.created_at, UTC). Cache hits are counted but
-- cost nothing and send nothing; requests counts what reached the endpoint.
CREATE OR REPLACE VIEW marts.llm_cost_daily AS
SELECT created_at::DATE                                   AS day,
       stage, model,
       model LIKE 'sim-%'                                 AS simulator,
       count(*)::BIGINT                                   AS calls,
       count(*) FILTER (WHERE cache_hit)::BIGINT          AS cache_hits,
       count(*) FILTER (WHERE NOT cache_hit)::BIGINT      AS requests,
       count(*) FILTER (WHERE status = 'dead')::BIGINT    AS dead,
       coalesce(sum(input_tokens) FILTER (WHERE NOT cache_hit), 0)::BIGINT  AS input_tokens,
       coalesce(sum(output_tokens) FILTER (WHERE NOT cache_hit), 0)::BIGINT AS output_tokens,
       round(coalesce(sum(cost_usd), 0), 6)               AS cost_usd
FROM ops.llm_calls
GROUP BY ALL;

COMMENT ON VIEW marts.llm_cost_daily IS 'LLM calls, requests, tokens and cost per UTC day, stage and model (ops.llm_calls). sim-* models are the offline simulator: their cost is not a real cost.';
COMMENT ON COLUMN marts.llm_cost_daily.day IS 'UTC day the call was journalled.';
COMMENT ON COLUMN marts.llm_cost_daily.stage IS 'The pipeline stage that asked: csconv, annotate, rolecs, eval, ...';
COMMENT ON COLUMN marts.llm_cost_daily.model IS 'The endpoint model; sim-* is the offline simulator, never a model.';
COMMENT ON COLUMN marts.llm_cost_daily.simulator IS 'True for the offline simulator''s models (sim-*).';
COMMENT ON COLUMN marts.llm_cost_daily.calls IS 'Calls journalled, cache hits included.';
COMMENT ON COLUMN marts.llm_cost_daily.cache_hits IS 'Calls answered from the local cache: no request, no cost.';
COMMENT ON COLUMN marts.llm_cost_daily.requests IS 'Calls that reached the endpoint (calls - cache_hits); a rerun with nothing new adds none.';
COMMENT ON COLUMN marts.llm_cost_daily.dead IS 'Calls that failed for good (ops.llm_dead_letter has the error).';
COMMENT ON COLUMN marts.llm_cost_daily.input_tokens IS 'Prompt tokens of the requests (cache hits excluded).';
COMMENT ON COLUMN marts.llm_cost_daily.output_tokens IS 'Completion tokens of the requests (cache hits excluded).';
COMMENT ON COLUMN marts.llm_cost_daily.cost_usd IS 'Estimated cost in US dollars, from the configured prices; 0 for cache hits.';
