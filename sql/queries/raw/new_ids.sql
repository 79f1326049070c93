-- The batch's dialogues to insert: not stored yet and not clashing with a stored one.
CREATE OR REPLACE TEMP TABLE new_ids AS
SELECT b.dialogue_id FROM d_batch b
WHERE b.dialogue_id NOT IN (SELECT dialogue_id FROM raw.dialogues)
  AND NOT EXISTS (SELECT 1 FROM raw.dialogues r WHERE r.source = b.source
    AND r.language = b.language AND r.source_dialogue_id = b.source_dialogue_id
    AND r.dialogue_id <> b.dialogue_id)
