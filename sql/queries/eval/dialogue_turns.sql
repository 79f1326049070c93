-- The turns of the given CSConv dialogues, in order. Parameter: a list of csconv_ids.
SELECT u.csconv_id, c.language, u.utt_index, u.speaker, u.strategy_id, u.text
FROM csconv.utterances u JOIN csconv.dialogues c USING (csconv_id)
WHERE u.csconv_id IN (SELECT unnest(?::VARCHAR[]))
ORDER BY u.csconv_id, u.utt_index
