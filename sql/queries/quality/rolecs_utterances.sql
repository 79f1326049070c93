-- The turns of the RoleCS accepted set, with their dialogue's language (for the PII check).
SELECT u.dialogue_id, u.utt_index, u.speaker, u.strategy_id, u.text, a.language
FROM rolecs.utterances u JOIN marts.rolecs_accepted a USING (dialogue_id)
