-- (a) Trailing system-note utterances trimmed, in the rewrites of dialogues with an outcome.
SELECT count(*) FILTER (WHERE trimmed > 0) AS rewrites, coalesce(sum(trimmed), 0) AS trimmed
FROM csconv.rewrites r JOIN marts.csconv_outcomes o USING (dialogue_id, pipeline_version)
