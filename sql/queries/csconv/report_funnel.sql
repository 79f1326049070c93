-- The funnel report's outcomes, read by column name: the view marts.csconv_funnel is the one
-- definition of kept / rejected (per step) / dead-lettered counts.
SELECT outcome, step, dialogues FROM marts.csconv_funnel
