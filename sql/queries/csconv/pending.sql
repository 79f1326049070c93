-- Rule-passed dialogues of a language with no outcome under a pipeline version: dead letters
-- and deferred ones included, they are tried again. Parameters: language, pipeline_version
-- twice. The code may append a LIMIT.
SELECT d.dialogue_id
FROM raw.dialogues d JOIN marts.prefilter_latest p USING (dialogue_id)
WHERE p.passed AND d.language = ?
  AND d.dialogue_id NOT IN (SELECT dialogue_id FROM csconv.dialogues WHERE pipeline_version = ?)
  AND d.dialogue_id NOT IN (SELECT dialogue_id FROM csconv.rejects WHERE pipeline_version = ?)
ORDER BY d.dialogue_id
