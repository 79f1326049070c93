-- The turns of CSConv dialogues to annotate (a list of csconv ids), in order.
SELECT csconv_id, speaker, text FROM csconv.utterances WHERE csconv_id IN
(SELECT unnest(?::VARCHAR[])) ORDER BY csconv_id, utt_index
