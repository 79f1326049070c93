-- Whether each published stage has run at all, so the quality gate tells "no rows yet" (a
-- fresh warehouse: a skip) from a published table that lost its rows (a failure). One row.
SELECT (SELECT count(*) FROM csconv.dialogues) AS csconv,
       (SELECT count(*) FROM rolecs.dialogues WHERE status = 'accepted') AS rolecs,
       (SELECT count(*) FROM eval.runs) AS eval_runs,
       (SELECT count(*) FROM eval.metrics) AS eval_metrics,
       (SELECT count(*) FROM finetune.exports) AS finetune
