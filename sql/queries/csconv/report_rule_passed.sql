-- The funnel's input: dialogues whose latest rule pre-filter verdict passed.
SELECT count(*) AS dialogues FROM marts.prefilter_latest WHERE passed
