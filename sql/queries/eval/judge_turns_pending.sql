-- Dialogues of the current CSConv set in a language with a predicted turn of the run that has
-- no judgement under the judge version. Parameters: language, run_key, judge_version.
SELECT c.csconv_id FROM marts.csconv_current c
WHERE c.language = ?
  AND EXISTS (SELECT 1 FROM eval.predictions p
              WHERE p.run_key = ? AND p.csconv_id = c.csconv_id
                AND NOT EXISTS (SELECT 1 FROM eval.turn_judgements j
                                WHERE j.run_key = p.run_key AND j.csconv_id = p.csconv_id
                                  AND j.utt_index = p.utt_index AND j.judge_version = ?))
ORDER BY c.csconv_id
