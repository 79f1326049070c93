-- Utterances of the accepted RoleCS dialogues, for export; a NULL language exports all.
-- Parameter: language (used twice, as $1).
SELECT d.dialogue_id, d.language, d.topic, u.utt_index, u.speaker, u.strategy_id, u.text
FROM rolecs.dialogues d JOIN rolecs.utterances u USING (dialogue_id)
WHERE d.status = 'accepted' AND ($1::VARCHAR IS NULL OR d.language = $1)
ORDER BY d.dialogue_id, u.utt_index
