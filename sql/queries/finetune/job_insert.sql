-- A new fine-tune job, written before anything is uploaded; a row with the same key is kept
-- as it is (the caller reads it back). Parameters: job_key, provider, base_model, export_id,
-- status, status_history (JSON text), started_at, updated_at.
INSERT INTO finetune.jobs (job_key, provider, base_model, export_id, status, status_history,
                           started_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?::JSON, ?, ?)
ON CONFLICT DO NOTHING
