-- Mean utterances of the raw dialogues that entered the stage (have an outcome).
SELECT round(avg(d.n_utterances), 2) AS mean_utterances FROM raw.dialogues d
JOIN marts.csconv_outcomes o USING (dialogue_id)
