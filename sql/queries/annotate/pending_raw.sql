-- Rule-passed raw dialogues of a language without a complete annotation by (prompt version,
-- model); "complete" as in annotate/pending_csconv.sql. Parameters: target_kind,
-- prompt_version, model, language. The code may append a LIMIT.
WITH complete AS (
  SELECT target_id FROM csconv.annotations
  WHERE target_kind = ? AND prompt_version = ? AND model = ?
  GROUP BY target_id HAVING bool_and(label_error IS DISTINCT FROM 'not labelled'))
SELECT d.dialogue_id, d.language FROM raw.dialogues d
JOIN marts.prefilter_latest p USING (dialogue_id)
WHERE p.passed AND d.language = ? AND d.dialogue_id NOT IN (SELECT target_id FROM complete)
ORDER BY 1
