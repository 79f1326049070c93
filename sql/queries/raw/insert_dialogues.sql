-- The new dialogues of the batch (new_ids); columns in raw.dialogues' order.
INSERT INTO raw.dialogues
SELECT dialogue_id, source, source_dialogue_id, source_file, file_sha256, record_no, line_no,
       language, business_area, n_utterances, n_lines_in, n_empty_dropped, n_skipped,
       pii_masked, run_id, now()
FROM d_batch WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)
