-- Of the batch's new dialogues: how many, how many passed the rules, their source lines.
SELECT count(*), count(*) FILTER (WHERE passed), coalesce(sum(n_lines), 0) FROM p_batch
WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids)
