-- The training set of the offline baselines: the turns of the accepted RoleCS dialogues
-- (marts.rolecs_accepted), in order.
SELECT u.dialogue_id, a.language, u.utt_index, u.speaker, u.strategy_id, u.text
FROM marts.rolecs_accepted a JOIN rolecs.utterances u USING (dialogue_id)
ORDER BY u.dialogue_id, u.utt_index
