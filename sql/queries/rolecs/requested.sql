-- The scenarios a batch asked for under a version, and whether each has its dialogue.
-- Parameters: batch, version, language.
SELECT r.scenario_id, d.dialogue_id IS NOT NULL AS done
FROM rolecs.requests r
LEFT JOIN rolecs.dialogues d ON d.scenario_id = r.scenario_id AND d.version = r.version
WHERE r.batch = ? AND r.version = ? AND r.language = ?
