-- The turns of the accepted set, for the text metrics (csc.rolecs.report samples them): each
-- with its language, speaker role, dialogue and index. No parameters.
SELECT a.language, u.speaker, u.dialogue_id, u.utt_index, u.text
FROM marts.rolecs_accepted a JOIN rolecs.utterances u USING (dialogue_id)
ORDER BY a.language, u.speaker, u.dialogue_id, u.utt_index
