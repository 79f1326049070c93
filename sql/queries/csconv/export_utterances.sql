-- Utterances of the current CSConv set, for export; a NULL language exports all of them.
-- Parameter: language (used twice, as $1).
SELECT c.csconv_id, c.language, c.business_area, u.utt_index, u.speaker, u.strategy_id, u.text
FROM marts.csconv_current c JOIN csconv.utterances u USING (csconv_id)
WHERE $1::VARCHAR IS NULL OR c.language = $1
ORDER BY c.csconv_id, u.utt_index
