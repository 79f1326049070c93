-- The RoleCS accepted set (marts.rolecs_accepted), one row per dialogue, with the facts Great
-- Expectations checks: speakers alternate, the first turn is the supporter's Greeting
-- (strategy 1), the stored count matches the turns, and the judge's verdict is complete (a
-- rolecs.judgements row whose five criteria and verdict are all true).
SELECT a.dialogue_id, a.language, a.n_utterances, a.judge_passed,
       coalesce(bool_and(u.prev IS NULL OR u.speaker <> u.prev), false) AS alternates,
       coalesce(bool_or(u.utt_index = first_index AND u.speaker = 'supporter'
                        AND u.strategy_id = 1), false) AS opens_with_greeting,
       count(u.utt_index) = a.n_utterances AS counts_match,
       coalesce(any_value(j.strategy_adherence AND j.unreasonable_requests AND j.natural_replies
                          AND j.varied_expression AND j.role_consistent AND j.passed), false)
           AS judged_five_of_five,
       any_value(j.model) AS judge_model
FROM marts.rolecs_accepted a
LEFT JOIN (SELECT *, lag(speaker) OVER (PARTITION BY dialogue_id ORDER BY utt_index) AS prev,
                  min(utt_index) OVER (PARTITION BY dialogue_id) AS first_index
           FROM rolecs.utterances) u USING (dialogue_id)
LEFT JOIN rolecs.judgements j USING (dialogue_id)
GROUP BY a.dialogue_id, a.language, a.n_utterances, a.judge_passed
