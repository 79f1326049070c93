-- Utterances of new dialogues (new_ids), gathered over batches by warehouse.raw_store so that
-- each insert holds whole DuckDB row groups.
INSERT INTO raw.utterances BY NAME
SELECT dialogue_id, utt_index, speaker, text, n_chars, strategy_label, source_line_chars
FROM u_new
