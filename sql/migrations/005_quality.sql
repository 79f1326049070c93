-- Results of the Great Expectations checkpoints over published tables, one row per
-- expectation per run.
CREATE TABLE IF NOT EXISTS ops.quality_checks (
    run_id            VARCHAR NOT NULL,
    "table"           VARCHAR NOT NULL,
    expectation       VARCHAR NOT NULL,
    "column"          VARCHAR,
    success           BOOLEAN NOT NULL,
    unexpected_count  BIGINT NOT NULL,
    checked_at        TIMESTAMP NOT NULL
);
