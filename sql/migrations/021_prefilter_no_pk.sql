-- staging.prefilter without its PRIMARY KEY (dialogue_id, rules_version), as 011 did for
-- raw.utterances. Verdicts are only ever inserted: by ingest for dialogues new to
-- raw.dialogues (whose key stays), and by the rules refresh for dialogues with no verdict
-- under the current rules version (NOT EXISTS). Neither needs the index, and keeping it up
-- cost about 0.5 s of every 1M utterances ingested, 0.2 s of it in the single-threaded
-- COMMIT. DuckDB cannot drop a key in place, so the table is rebuilt with the same columns in
-- the same order; the views that read it (marts.prefilter_*) bind by name and are unchanged.
CREATE TABLE staging.prefilter_021 (
    dialogue_id          VARCHAR NOT NULL,
    rules_version        VARCHAR NOT NULL,
    passed               BOOLEAN NOT NULL,
    failed_rules         VARCHAR[] NOT NULL,
    n_lines              INTEGER NOT NULL,
    n_turns              INTEGER NOT NULL,
    n_customer           INTEGER NOT NULL,
    n_supporter          INTEGER NOT NULL,
    max_utterance_chars  INTEGER NOT NULL,
    customer_long_share  DOUBLE NOT NULL,
    run_id               VARCHAR NOT NULL,
    evaluated_at         TIMESTAMP NOT NULL
);
INSERT INTO staging.prefilter_021
SELECT dialogue_id, rules_version, passed, failed_rules, n_lines, n_turns, n_customer,
       n_supporter, max_utterance_chars, customer_long_share, run_id, evaluated_at
FROM staging.prefilter;  -- in the order stored
DROP TABLE staging.prefilter;
ALTER TABLE staging.prefilter_021 RENAME TO prefilter;
-- The column comments of 008 belonged to the old table; the new one carries them again.
COMMENT ON COLUMN staging.prefilter.n_lines IS 'merged utterances (turns = n_lines // 2)';
COMMENT ON COLUMN staging.prefilter.n_customer IS 'customer raw lines, before merging';
COMMENT ON COLUMN staging.prefilter.n_supporter IS 'supporter raw lines, before merging';
COMMENT ON COLUMN staging.prefilter.customer_long_share IS
    'share of customer raw lines longer than the rules'' customer_long_chars';
