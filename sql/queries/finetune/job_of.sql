-- The fine-tune job with this key, if one was started: every column of finetune.jobs, the
-- JSON ones as text. Parameter: job_key.
SELECT job_key, provider, base_model, export_id, status,
       status_history::VARCHAR AS status_history,
       provider_file_ids::VARCHAR AS provider_file_ids, provider_job_id, fine_tuned_model, error,
       started_at,
       finished_at, updated_at
FROM finetune.jobs
WHERE job_key = ?
