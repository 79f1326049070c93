-- The report's outcome counts, accepted rate and utterances per accepted dialogue per language,
-- read by column name from marts.rolecs_summary.
SELECT * FROM marts.rolecs_summary ORDER BY language
