-- Scenarios of a language that already have a dialogue under a stage version.
-- Parameters: language, version.
SELECT scenario_id FROM rolecs.dialogues WHERE language = ? AND version = ?
