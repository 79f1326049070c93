-- Every turn of the accepted RoleCS set (marts.rolecs_accepted), in order, for an export:
-- dialogue_id, language, utt_index, speaker, strategy_id, text. No parameters.
SELECT a.dialogue_id, a.language, u.utt_index, u.speaker, u.strategy_id, u.text
FROM marts.rolecs_accepted a JOIN rolecs.utterances u USING (dialogue_id)
ORDER BY a.dialogue_id, u.utt_index
