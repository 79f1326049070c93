-- Batch rows whose source id is already stored with other content (batch_state.clash):
-- quarantine rows, check 'duplicate_id'. 40 and 39 are csc.ingest.readers.records.EXCERPT and
-- EXCERPT - 1 (the characters of an id a reason quotes; tests/test_sql_queries.py pins them).
SELECT b.record_no, b.line_no, b.source_dialogue_id,
       'duplicate_id' AS "check",
       format('id ''{}'' is already stored with different content',
              CASE WHEN length(b.source_dialogue_id) > 40
                   THEN left(b.source_dialogue_id, 39) || '…'
                   ELSE b.source_dialogue_id END) AS reason,
       (SELECT to_json(list({'speaker': u.speaker, 'text': u.text} ORDER BY u.utt_index))
        FROM u_batch u WHERE u.dialogue_id = b.dialogue_id)::VARCHAR AS payload
FROM d_batch b SEMI JOIN batch_state s ON s.dialogue_id = b.dialogue_id AND s.clash
ORDER BY b.record_no
