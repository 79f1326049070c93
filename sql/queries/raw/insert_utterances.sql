-- The utterances of the batch's new dialogues (new_ids).
INSERT INTO raw.utterances BY NAME
SELECT dialogue_id, utt_index, speaker, text, n_chars, strategy_label, source_line_chars
FROM u_batch WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)
