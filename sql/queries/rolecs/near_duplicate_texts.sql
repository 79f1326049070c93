-- Every RoleCS dialogue's texts for the near-duplicate check (csc.rolecs.near_duplicates),
-- earliest first: its turns' texts one per line, its scenario and goal, and whether it has been
-- checked already (a row in rolecs.near_duplicates). No parameters.
SELECT d.dialogue_id, d.language, d.created_at,
       n.dialogue_id IS NOT NULL AS checked,
       s.scenario || chr(10) || s.goal AS scenario_text,
       coalesce(t.dialogue_text, '') AS dialogue_text
FROM rolecs.dialogues d
JOIN rolecs.scenarios s USING (dialogue_id)
LEFT JOIN rolecs.near_duplicates n USING (dialogue_id)
LEFT JOIN (SELECT dialogue_id, string_agg(text, chr(10) ORDER BY utt_index) AS dialogue_text
           FROM rolecs.utterances GROUP BY dialogue_id) t USING (dialogue_id)
ORDER BY d.created_at, d.dialogue_id
