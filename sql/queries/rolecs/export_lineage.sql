-- Which stage versions and models made the accepted RoleCS dialogues (of one language, or all
-- when the language is NULL). Parameter: language (used twice, as $1).
SELECT DISTINCT d.version, u.model
FROM marts.rolecs_accepted d JOIN rolecs.utterances u USING (dialogue_id)
WHERE $1::VARCHAR IS NULL OR d.language = $1
ORDER BY ALL
