-- A fine-tune job's progress: its status and history, the provider's ids as they come back,
-- the result or the error. Parameters: status, status_history (JSON text), provider_file_ids
-- (JSON text or NULL), provider_job_id, fine_tuned_model, error, finished_at, updated_at,
-- job_key.
UPDATE finetune.jobs
SET status = ?, status_history = ?::JSON, provider_file_ids = ?::JSON, provider_job_id = ?,
    fine_tuned_model = ?, error = ?, finished_at = ?, updated_at = ?
WHERE job_key = ?
