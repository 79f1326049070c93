-- Dialogues of the current CSConv set in a language with no prediction under a run.
-- Parameters: language, run_key.
SELECT c.csconv_id FROM marts.csconv_current c
WHERE c.language = ?
  AND NOT EXISTS (SELECT 1 FROM eval.predictions p
                  WHERE p.run_key = ? AND p.csconv_id = c.csconv_id)
ORDER BY c.csconv_id
