-- Delete the stored annotations of some targets (a list of ids) by (kind, prompt version,
-- model) that left a turn 'not labelled', so their new answer takes their keys. Parameters:
-- target_kind, prompt_version, model, the same three again, the ids.
DELETE FROM csconv.annotations
WHERE target_kind = ? AND prompt_version = ? AND model = ?
  AND target_id IN (SELECT target_id FROM csconv.annotations
                    WHERE target_kind = ? AND prompt_version = ? AND model = ?
                      AND label_error = 'not labelled'
                      AND target_id IN (SELECT unnest(?::VARCHAR[])))
