-- Every evaluation run with predictions, with its model, kind and setting.
SELECT r.run_key, r.model, r.kind, r.setting, r.dataset
FROM eval.runs r
WHERE EXISTS (SELECT 1 FROM eval.predictions p WHERE p.run_key = r.run_key)
ORDER BY r.setting, r.model, r.created_at
