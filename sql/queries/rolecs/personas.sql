-- The personas of a language, as the scenario pool is built from them. Parameter: language.
SELECT persona_id, CAST(profile AS VARCHAR) AS profile FROM rolecs.personas
WHERE language = ? ORDER BY persona_id
