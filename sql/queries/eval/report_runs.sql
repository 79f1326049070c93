-- The runs the report shows: the leaderboard's rows, each with the run below it.
SELECT run_key, model, kind, setting, n_turns, base_model,
       lead(run_key) OVER (PARTITION BY setting ORDER BY rank) AS next_run_key
FROM marts.leaderboard ORDER BY setting, rank
