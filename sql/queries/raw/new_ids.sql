-- The batch's dialogues to insert: not stored yet and not clashing with a stored one.
CREATE OR REPLACE TEMP TABLE new_ids AS
SELECT dialogue_id FROM batch_state WHERE NOT stored AND NOT clash
