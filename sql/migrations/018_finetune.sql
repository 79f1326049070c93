-- Fine-tune exports and jobs: the accepted RoleCS set written as supervised fine-tuning files,
-- the trigger's decisions, and (filled by a later part) the provider jobs trained on them.
-- docs/finetune.md says what each format holds and how the export id is made.
CREATE SCHEMA IF NOT EXISTS finetune;

-- One row per export folder written: <output dir>/finetune/<export_id>/. export_id hashes the
-- format version, the formats written, every considered dialogue's id and split (or drop
-- reason), and the files' content: the same set exported the same way has the same id, and is
-- never written twice.
CREATE TABLE IF NOT EXISTS finetune.exports (
    export_id               VARCHAR PRIMARY KEY,
    format_version          VARCHAR NOT NULL,
    formats                 VARCHAR[] NOT NULL,     -- of openai, sharegpt, instruction
    n_dialogues             INTEGER NOT NULL,       -- accepted dialogues considered
    n_train                 INTEGER NOT NULL,       -- dialogues written, per split
    n_validation            INTEGER NOT NULL,
    n_dropped               INTEGER NOT NULL,       -- duplicates, over the token limit, ...
    n_truncated             INTEGER NOT NULL,       -- written, cut at a turn boundary
    n_examples_openai       INTEGER,                -- NULL: the format was not written
    n_examples_sharegpt     INTEGER,
    n_examples_instruction  INTEGER,
    tokens_openai           BIGINT,                 -- estimated tokens, both splits
    tokens_sharegpt         BIGINT,
    tokens_instruction      BIGINT,
    token_estimate          VARCHAR NOT NULL,       -- how tokens were counted
    max_tokens              INTEGER NOT NULL,       -- the per-example limit applied
    split_seed              INTEGER NOT NULL,
    validation_share        DOUBLE NOT NULL,
    dialogues_hash          VARCHAR NOT NULL,       -- hash of the sorted (dialogue_id, split)
    path                    VARCHAR NOT NULL,       -- the folder written
    created_at              TIMESTAMP NOT NULL
);

-- Every accepted dialogue an export considered: its split, or why it was left out. A dialogue
-- with no row here is "not yet in any export" (what the trigger counts).
CREATE TABLE IF NOT EXISTS finetune.export_dialogues (
    export_id     VARCHAR NOT NULL,
    dialogue_id   VARCHAR NOT NULL,
    split         VARCHAR NOT NULL,                 -- train | validation | dropped
    reason        VARCHAR,                          -- dropped: why; else NULL
    kept_turns    INTEGER,                          -- turns written after merging (NULL: dropped)
    truncated     BOOLEAN NOT NULL,                 -- cut at a turn boundary to fit the limit
    PRIMARY KEY (export_id, dialogue_id)
);

-- Every decision of the trigger, with its reason: start (an export was written, a job may
-- start), wait (too few new dialogues, or nothing to export), already_exported (the same
-- content exists: nothing written, no job).
CREATE TABLE IF NOT EXISTS finetune.decisions (
    decided_at     TIMESTAMP NOT NULL,
    export_id      VARCHAR,                         -- NULL for wait
    new_dialogues  INTEGER NOT NULL,                -- accepted, not in any export
    threshold      INTEGER NOT NULL,
    forced         BOOLEAN NOT NULL,
    decision       VARCHAR NOT NULL,                -- start | wait | already_exported
    reason         VARCHAR NOT NULL,
    run_id         VARCHAR                          -- the flow run; NULL from the command line
);

-- A fine-tuning job at a provider, one per (provider, base model, export): job_key hashes the
-- three. Written before anything is uploaded and updated as each provider id comes back
-- (file ids, then the job id) before any wait, so a rerun after a crash resumes the job it
-- started instead of starting another. Filled by a later part.
CREATE TABLE IF NOT EXISTS finetune.jobs (
    job_key             VARCHAR PRIMARY KEY,
    provider            VARCHAR NOT NULL,
    base_model          VARCHAR NOT NULL,
    export_id           VARCHAR NOT NULL,
    status              VARCHAR NOT NULL,           -- the latest of status_history
    status_history      JSON NOT NULL,              -- [{"status", "at", "detail"}], in order
    provider_file_ids   JSON,                       -- {"train": id, "validation": id}
    provider_job_id     VARCHAR,
    fine_tuned_model    VARCHAR,
    error               VARCHAR,
    started_at          TIMESTAMP NOT NULL,
    finished_at         TIMESTAMP,
    updated_at          TIMESTAMP NOT NULL
);
