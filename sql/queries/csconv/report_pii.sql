-- What the masker caught in the rewrites of dialogues with an outcome (issue 11 A7): rewrites
-- holding any, spans in their turns, spans in their reasoning.
SELECT count(*) FILTER (WHERE pii_masked > 0) AS rewrites,
       coalesce(sum(pii_masked), 0) AS spans,
       coalesce(sum(pii_masked_reasoning), 0) AS spans_in_reasoning
FROM csconv.rewrites r JOIN marts.csconv_outcomes o USING (dialogue_id, pipeline_version)
