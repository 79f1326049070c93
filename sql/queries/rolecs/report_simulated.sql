-- Dialogues in the accepted set with a turn the offline simulator wrote (a sim-* model), and
-- all accepted dialogues: the report says so whenever the first is not 0.
SELECT count(DISTINCT a.dialogue_id) FILTER (WHERE u.model LIKE 'sim-%')::BIGINT AS simulated,
       count(DISTINCT a.dialogue_id)::BIGINT AS accepted
FROM marts.rolecs_accepted a JOIN rolecs.utterances u USING (dialogue_id)
