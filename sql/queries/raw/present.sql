-- How many of the batch's dialogues are stored already (same content, so not a clash).
SELECT count(*) FROM d_batch b
WHERE b.dialogue_id IN (SELECT dialogue_id FROM raw.dialogues)
  AND NOT EXISTS (SELECT 1 FROM raw.dialogues r WHERE r.source = b.source
    AND r.language = b.language AND r.source_dialogue_id = b.source_dialogue_id
    AND r.dialogue_id <> b.dialogue_id)
