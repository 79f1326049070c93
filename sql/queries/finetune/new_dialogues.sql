-- How many accepted RoleCS dialogues are in no export yet (no finetune.export_dialogues row,
-- whatever its split): what the trigger compares with its threshold. No parameters.
SELECT count(*)::INTEGER AS new_dialogues
FROM marts.rolecs_accepted a
WHERE NOT EXISTS (SELECT 1 FROM finetune.export_dialogues e
                  WHERE e.dialogue_id = a.dialogue_id)
