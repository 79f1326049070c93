-- raw.dialogues without its PRIMARY KEY (dialogue_id), as 011 and 021 did for raw.utterances
-- and staging.prefilter. Only ingest writes the table, one writer at a time (the warehouse's
-- writer lock), and it inserts a dialogue only when its content key is in neither the
-- table (sql/queries/raw/batch_state.sql, which sees the file's earlier batches in its
-- transaction) nor earlier in the batch (csc.ingest.pipeline keeps the first of each key):
-- the index guarded nothing that path does not already guarantee. Its upkeep cost ~0.65
-- CPU-s of every 1M utterances ingested, 0.3 s of it in the single-threaded COMMIT, and the
-- lookups above never used it (DuckDB joins by hash). tests/test_warehouse.py pins the
-- uniqueness instead.
-- DuckDB cannot drop a key in place, so the table is rebuilt with the same columns in the same
-- order; the views that read it bind by name and are unchanged.
CREATE TABLE raw.dialogues_022 (
    dialogue_id         VARCHAR NOT NULL,        -- blake2b-128 of the normalised, masked turns
    source              VARCHAR NOT NULL,        -- source config name (stc3, jsonl, ...)
    source_dialogue_id  VARCHAR,                 -- the id the source gave it, if any
    source_file         VARCHAR NOT NULL,
    file_sha256         VARCHAR NOT NULL,
    record_no           BIGINT NOT NULL,         -- ordinal of the record in its file
    line_no             BIGINT,                  -- first line of the record, for line formats
    language            VARCHAR NOT NULL,        -- zh | en
    business_area       VARCHAR,
    n_utterances        BIGINT NOT NULL,         -- after merging consecutive same-speaker lines
    n_lines_in          BIGINT NOT NULL,         -- lines as read, before dropping and merging
    n_empty_dropped     BIGINT NOT NULL,         -- empty lines dropped (e.g. image-only posts)
    n_skipped           BIGINT NOT NULL,         -- lines of speakers the source config skips
    pii_masked          BIGINT NOT NULL,         -- PII spans replaced by placeholders
    run_id              VARCHAR NOT NULL,
    ingested_at         TIMESTAMP NOT NULL
);
INSERT INTO raw.dialogues_022
SELECT dialogue_id, source, source_dialogue_id, source_file, file_sha256, record_no, line_no,
       language, business_area, n_utterances, n_lines_in, n_empty_dropped, n_skipped,
       pii_masked, run_id, ingested_at
FROM raw.dialogues;  -- in the order stored
DROP TABLE raw.dialogues;
ALTER TABLE raw.dialogues_022 RENAME TO dialogues;
