-- The run a judge looks at for a model and setting: the newest eval.runs row of that model and
-- setting that has predictions (the one the leaderboard will show once its metrics are
-- computed; at judging time they may not be yet). Parameters: model, setting.
SELECT r.run_key FROM eval.runs r
WHERE r.model = ? AND r.setting = ?
  AND EXISTS (SELECT 1 FROM eval.predictions p WHERE p.run_key = r.run_key)
ORDER BY r.created_at DESC, r.run_key DESC
LIMIT 1
