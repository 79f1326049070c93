-- Current CSConv dialogues of a language without a complete annotation by (prompt version,
-- model). Complete: no turn with label_error 'not labelled' (csc.csconv.annotate.NOT_LABELLED,
-- a supporter turn the answer left out); a label that did not map is an answer, and stays.
-- Parameters: target_kind, prompt_version, model, language. The code may append a LIMIT.
WITH complete AS (
  SELECT target_id FROM csconv.annotations
  WHERE target_kind = ? AND prompt_version = ? AND model = ?
  GROUP BY target_id HAVING bool_and(label_error IS DISTINCT FROM 'not labelled'))
SELECT c.csconv_id, c.language FROM marts.csconv_current c
WHERE c.language = ? AND c.csconv_id NOT IN (SELECT target_id FROM complete)
ORDER BY 1
