-- Quarantine rows (q_batch); the same record failing the same check twice is one row. A
-- file-level row (record 0) is about the file at its path: two empty files are two rows.
-- Other rows are about content, wherever the same bytes turn up.
INSERT INTO raw.quarantine
SELECT md5(concat_ws('|', coalesce(file_sha256, source_file),
                     CASE WHEN record_no = 0 THEN source_file END, record_no, "check")),
       source, source_file, file_sha256, record_no, line_no, source_dialogue_id, "check",
       reason, payload, run_id, now()
FROM q_batch ON CONFLICT DO NOTHING
