-- Every fine-tune job, newest first: job_key, provider, base_model, export_id, status,
-- provider_job_id, fine_tuned_model, error, started_at, finished_at. No parameters.
SELECT job_key, provider, base_model, export_id, status, provider_job_id, fine_tuned_model,
       error, started_at, finished_at
FROM finetune.jobs
ORDER BY started_at DESC, job_key
