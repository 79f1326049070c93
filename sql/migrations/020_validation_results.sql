-- The quality gate (csc.quality.gate): one row per expectation per gate run over the published
-- tables, and one 'no rows yet' row per suite skipped because its stage has produced nothing.
-- marts.quality_history summarises it per run and suite.
CREATE TABLE IF NOT EXISTS ops.validation_results (
    run_id            VARCHAR NOT NULL,     -- the flow run (or the gate's own id, run alone)
    suite             VARCHAR NOT NULL,     -- csconv | rolecs | eval | finetune
    "table"           VARCHAR NOT NULL,     -- the validated table or view
    expectation       VARCHAR NOT NULL,     -- a Great Expectations type, or 'no rows yet'
    "column"          VARCHAR,              -- the column(s) checked, comma-separated
    critical          BOOLEAN NOT NULL,     -- a failure stops publication
    status            VARCHAR NOT NULL,     -- passed | failed | skipped
    success           BOOLEAN,              -- NULL: skipped
    unexpected_count  BIGINT NOT NULL,      -- rows that broke it (0 for table-level checks)
    details           JSON NOT NULL,        -- description, observed value, sample (PII masked)
    checked_at        TIMESTAMP NOT NULL
);
