-- Of the batch's dialogues: how many are stored already (same content, so not a clash), and
-- how many clash (raw/clashes words those, and is not run when there are none).
SELECT count(*) FILTER (WHERE stored AND NOT clash), count(*) FILTER (WHERE clash)
FROM batch_state
