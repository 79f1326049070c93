-- The utterances of the batch's new dialogues (u_new).
INSERT INTO raw.utterances BY NAME
SELECT dialogue_id, utt_index, speaker, text, n_chars, strategy_label, source_line_chars
FROM u_new
