-- Schemas used from the start; later stages add theirs in their own migrations.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS marts;

-- One row per flow or CLI run: what ran, with which parameters, and how it ended.
CREATE TABLE IF NOT EXISTS ops.runs (
    run_id       VARCHAR PRIMARY KEY,
    flow         VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,          -- running | completed | failed
    params       JSON,
    summary      JSON
);
