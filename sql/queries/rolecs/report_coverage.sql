-- The report's stage coverage of the accepted set (marts.rolecs_stage_coverage).
SELECT language, stage_id, stage_name, dialogues, accepted_dialogues, pct
FROM marts.rolecs_stage_coverage ORDER BY language, stage_id
