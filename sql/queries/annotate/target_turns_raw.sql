-- The turns of raw dialogues to annotate (a list of dialogue ids), in order.
SELECT dialogue_id, speaker, text FROM raw.utterances WHERE dialogue_id IN
(SELECT unnest(?::VARCHAR[])) ORDER BY dialogue_id, utt_index
