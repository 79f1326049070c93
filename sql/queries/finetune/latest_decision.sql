-- The newest finetune.decisions row, as (decision, export_id, new_dialogues, threshold, forced,
-- reason): a decision equal to it is not recorded again (docs/finetune.md, "The trigger").
SELECT decision, export_id, new_dialogues, threshold, forced, reason
FROM finetune.decisions
ORDER BY decided_at DESC
LIMIT 1
