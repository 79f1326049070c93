-- The models fine-tune jobs produced, with the folder of the export each learnt from: what the
-- evaluation adds to its registry (csc/finetune/registered.py), oldest first.
SELECT j.provider, j.base_model, j.export_id, j.fine_tuned_model, e.path
FROM finetune.jobs j JOIN finetune.exports e USING (export_id)
WHERE j.status = 'succeeded' AND j.fine_tuned_model IS NOT NULL
ORDER BY j.finished_at, j.job_key
