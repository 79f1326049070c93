-- The leaderboard as analysts read it.
SELECT * FROM marts.leaderboard
