-- RoleCS: the training set simulated by LLM roles (csc-method §4).
-- A dialogue is one persona meeting one topic under one stage version (the prompts and models
-- of its roles and the loop's bounds); dialogue_id hashes scenario_id and version. Every
-- simulated dialogue is kept; only the 5/5 judged ones are 'accepted'.
CREATE SCHEMA IF NOT EXISTS rolecs;

CREATE TABLE IF NOT EXISTS rolecs.personas (
    persona_id    VARCHAR PRIMARY KEY,
    language      VARCHAR NOT NULL,               -- zh | en: the language of its dialogues
    profile       JSON NOT NULL,                  -- the structured profile as loaded
    source        VARCHAR NOT NULL,               -- the file it came from, or 'generated'
    loaded_at     TIMESTAMP NOT NULL
);

-- Profiles of a source that could not be loaded, with why (nothing read is lost). A load
-- replaces its source's rows: they say what is wrong with the source as last loaded.
CREATE TABLE IF NOT EXISTS rolecs.persona_rejects (
    source        VARCHAR NOT NULL,
    line_no       INTEGER,                        -- NULL: a clash with a stored persona
    persona_id    VARCHAR,
    reason        VARCHAR NOT NULL,
    loaded_at     TIMESTAMP NOT NULL
);

-- The scenarios a batch (a nightly's date, by default) asked for: its first run draws the next
-- N of the seeded sequence, and every later run of the batch finishes those and adds none, so
-- a crashed run's rerun ends with the set an uninterrupted run makes, and a rerun of a
-- finished batch asks the LLM nothing.
CREATE TABLE IF NOT EXISTS rolecs.requests (
    batch         VARCHAR NOT NULL,
    version       VARCHAR NOT NULL,
    scenario_id   VARCHAR NOT NULL,
    language      VARCHAR NOT NULL,
    requested_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (batch, version, scenario_id)
);

CREATE TABLE IF NOT EXISTS rolecs.scenarios (
    dialogue_id          VARCHAR PRIMARY KEY,
    scenario_id          VARCHAR NOT NULL,        -- hash of language, persona_id and topic
    version              VARCHAR NOT NULL,
    language             VARCHAR NOT NULL,
    persona_id           VARCHAR NOT NULL,
    topic                VARCHAR NOT NULL,
    persona_description  VARCHAR NOT NULL,        -- the describer's second-person text
    scenario             VARCHAR NOT NULL,        -- the planner's scenario
    goal                 VARCHAR NOT NULL,        -- the planner's customer goal
    describer_model      VARCHAR NOT NULL,
    describer_prompt     VARCHAR NOT NULL,
    planner_model        VARCHAR NOT NULL,
    planner_prompt       VARCHAR NOT NULL,
    run_id               VARCHAR NOT NULL,
    created_at           TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS rolecs.dialogues (
    dialogue_id     VARCHAR PRIMARY KEY,
    scenario_id     VARCHAR NOT NULL,
    version         VARCHAR NOT NULL,
    language        VARCHAR NOT NULL,
    persona_id      VARCHAR NOT NULL,
    topic           VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,             -- accepted | rejected (judge) | stopped
    stop_reason     VARCHAR NOT NULL,             -- closure | customer_finished |
                                                  -- max_utterances | loop | strategy_repeated
    n_utterances    INTEGER NOT NULL,
    n_supporter     INTEGER NOT NULL,
    judge_passed    BOOLEAN,                      -- NULL: stopped before the judge
    notes           JSON NOT NULL,                -- the rules the code enforced, in order
    run_id          VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS rolecs.utterances (
    dialogue_id     VARCHAR NOT NULL,
    utt_index       INTEGER NOT NULL,
    speaker         VARCHAR NOT NULL,             -- customer | supporter
    strategy_id     INTEGER,                      -- supporter turns: 1-12
    stage           VARCHAR,                      -- the strategy's usual conversation phase
    direction       VARCHAR,                      -- customer turns: the assistant's direction
    text            VARCHAR NOT NULL,
    reasoning       VARCHAR,                      -- supporter: why the strategy; else thinking
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    PRIMARY KEY (dialogue_id, utt_index)
);

-- The judge's five pass/fail criteria (csc-method §4), each its own column.
CREATE TABLE IF NOT EXISTS rolecs.judgements (
    dialogue_id            VARCHAR PRIMARY KEY,
    version                VARCHAR NOT NULL,
    strategy_adherence     BOOLEAN NOT NULL,
    unreasonable_requests  BOOLEAN NOT NULL,
    natural_replies        BOOLEAN NOT NULL,
    varied_expression      BOOLEAN NOT NULL,
    role_consistent        BOOLEAN NOT NULL,
    passed                 BOOLEAN NOT NULL,      -- all five
    reason                 VARCHAR,
    model                  VARCHAR NOT NULL,
    prompt_version         VARCHAR NOT NULL,
    run_id                 VARCHAR NOT NULL,
    created_at             TIMESTAMP NOT NULL
);
