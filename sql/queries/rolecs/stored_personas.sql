-- The stored personas among some ids (a persona file being loaded). Parameter: the ids.
SELECT persona_id, language, CAST(profile AS VARCHAR) AS profile FROM rolecs.personas
WHERE persona_id IN (SELECT unnest(?::VARCHAR[]))
