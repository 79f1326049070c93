-- Utterances of the accepted RoleCS dialogues (judged 5/5, not a near-duplicate), for
-- export; a NULL language exports all. Parameter: language (used twice, as $1).
SELECT d.dialogue_id, d.language, d.topic, u.utt_index, u.speaker, u.strategy_id, u.text
FROM marts.rolecs_accepted d JOIN rolecs.utterances u USING (dialogue_id)
WHERE $1::VARCHAR IS NULL OR d.language = $1
ORDER BY d.dialogue_id, u.utt_index
