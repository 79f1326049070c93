-- The newest export, the one a job trains on when none is named: export_id, path. No
-- parameters.
SELECT export_id, path
FROM finetune.exports
ORDER BY created_at DESC, export_id
LIMIT 1
