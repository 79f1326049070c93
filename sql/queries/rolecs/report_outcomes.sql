-- The report's dialogues per language, outcome and stop reason (marts.rolecs_outcomes).
SELECT language, outcome, status, stop_reason, dialogues FROM marts.rolecs_outcomes
ORDER BY language, outcome, stop_reason
