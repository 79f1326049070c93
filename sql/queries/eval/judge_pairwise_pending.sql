-- Dialogues of the current CSConv set in a language with a turn both the run and the
-- reference run predicted and no pairwise row under the judge version.
-- Parameters: language, run_key, reference_run_key, judge_version.
SELECT c.csconv_id FROM marts.csconv_current c
WHERE c.language = ?
  AND EXISTS (SELECT 1 FROM eval.predictions p
              JOIN eval.predictions r USING (csconv_id, utt_index)
              WHERE p.run_key = ? AND r.run_key = ? AND p.csconv_id = c.csconv_id
                AND NOT EXISTS (SELECT 1 FROM eval.pairwise w
                                WHERE w.run_key = p.run_key AND w.reference_run_key = r.run_key
                                  AND w.csconv_id = p.csconv_id AND w.utt_index = p.utt_index
                                  AND w.judge_version = ?))
ORDER BY c.csconv_id
