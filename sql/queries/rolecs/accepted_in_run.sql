-- How many of a run's dialogues are in the accepted set (marts.rolecs_accepted, its one
-- definition). Parameter: run_id.
SELECT count(*) FROM marts.rolecs_accepted WHERE run_id = ?
