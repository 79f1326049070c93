-- Raw layer: every ingested dialogue, keyed by its content.
CREATE TABLE IF NOT EXISTS raw.dialogues (
    dialogue_id         VARCHAR PRIMARY KEY,     -- blake2b-128 of the normalised, masked turns
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

CREATE TABLE IF NOT EXISTS raw.utterances (
    dialogue_id     VARCHAR NOT NULL,
    utt_index       BIGINT NOT NULL,             -- 0-based order within the dialogue
    speaker         VARCHAR NOT NULL,            -- customer | supporter
    text            VARCHAR NOT NULL,
    n_chars         BIGINT NOT NULL,
    strategy_label  VARCHAR,                     -- label as the source gave it, if any
    PRIMARY KEY (dialogue_id, utt_index)
);

-- Every record that did not become a dialogue, with where it came from and why.
CREATE TABLE IF NOT EXISTS raw.quarantine (
    quarantine_id       VARCHAR PRIMARY KEY,     -- hash of file content, record and check
    source              VARCHAR NOT NULL,
    source_file         VARCHAR NOT NULL,
    file_sha256         VARCHAR,                 -- null when the file itself was unreadable
    record_no           BIGINT NOT NULL,         -- 0 = the whole file
    line_no             BIGINT,
    source_dialogue_id  VARCHAR,
    "check"             VARCHAR NOT NULL,
    reason              VARCHAR NOT NULL,
    payload             VARCHAR,                 -- the record as read (first 100k characters)
    run_id              VARCHAR NOT NULL,
    quarantined_at      TIMESTAMP NOT NULL
);

-- The file ledger: a file (by content) already ingested with the same config is skipped.
CREATE TABLE IF NOT EXISTS raw.files (
    file_sha256     VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    config_hash     VARCHAR NOT NULL,
    path            VARCHAR NOT NULL,
    records         BIGINT NOT NULL,
    new_dialogues   BIGINT NOT NULL,
    already_present BIGINT NOT NULL,
    quarantined     BIGINT NOT NULL,
    run_id          VARCHAR NOT NULL,
    ingested_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (file_sha256, source, config_hash)
);

-- Rule pre-filter verdicts (csc-method §3.2), one row per dialogue and rules version.
CREATE TABLE IF NOT EXISTS staging.prefilter (
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
    evaluated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (dialogue_id, rules_version)
);
