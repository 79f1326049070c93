-- CSConv: the evaluation set built from real dialogues (csc-method §3).
-- pipeline_version identifies the prompts, models and post-filter bounds that made a row.
CREATE SCHEMA IF NOT EXISTS csconv;

CREATE TABLE IF NOT EXISTS csconv.llm_prefilter (
    dialogue_id       VARCHAR NOT NULL,          -- raw.dialogues
    pipeline_version  VARCHAR NOT NULL,
    low_quality       BOOLEAN NOT NULL,
    reason            VARCHAR,
    model             VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (dialogue_id, pipeline_version)
);

CREATE TABLE IF NOT EXISTS csconv.rewrites (
    dialogue_id       VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    turns             JSON NOT NULL,             -- the rewriter's answer as parsed
    reasoning         VARCHAR,                   -- the reasoning model's thinking, kept
    trimmed           INTEGER NOT NULL,          -- trailing system-note utterances dropped (a)
    model             VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (dialogue_id, pipeline_version)
);

CREATE TABLE IF NOT EXISTS csconv.judgements (
    dialogue_id       VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    quality           VARCHAR NOT NULL,          -- high | medium | low
    reason            VARCHAR,
    model             VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (dialogue_id, pipeline_version)
);

CREATE TABLE IF NOT EXISTS csconv.dialogues (
    csconv_id          VARCHAR PRIMARY KEY,      -- hash of dialogue_id and pipeline_version
    dialogue_id        VARCHAR NOT NULL,         -- the raw dialogue it was rewritten from
    pipeline_version   VARCHAR NOT NULL,
    language           VARCHAR NOT NULL,
    business_area      VARCHAR,
    n_utterances       INTEGER NOT NULL,
    n_supporter        INTEGER NOT NULL,
    strategy_use       DOUBLE NOT NULL,          -- share of supporter turns not 'Others'
    rewriter_model     VARCHAR NOT NULL,
    rewrite_prompt     VARCHAR NOT NULL,
    judge_model        VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    created_at         TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS csconv.utterances (
    csconv_id       VARCHAR NOT NULL,
    utt_index       INTEGER NOT NULL,
    speaker         VARCHAR NOT NULL,            -- customer | supporter
    strategy_id     INTEGER,                     -- 1-12 on supporter turns, null on customer
    strategy_label  VARCHAR,                     -- as the rewriter wrote it
    stage           VARCHAR,                     -- the strategy's usual stage (a guide)
    text            VARCHAR NOT NULL,
    PRIMARY KEY (csconv_id, utt_index)
);

CREATE TABLE IF NOT EXISTS csconv.rejects (
    dialogue_id       VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    step              VARCHAR NOT NULL,          -- llm_prefilter | length | multi_strategy | ...
    reason            VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (dialogue_id, pipeline_version)
);

-- Independent strategy labels of supporter turns, for rewritten and raw dialogues alike.
CREATE TABLE IF NOT EXISTS csconv.annotations (
    target_kind     VARCHAR NOT NULL,            -- csconv | raw
    target_id       VARCHAR NOT NULL,            -- csconv_id or raw dialogue_id
    utt_index       INTEGER NOT NULL,
    strategy_id     INTEGER,                     -- null when the label did not map
    strategy_label  VARCHAR,
    label_error     VARCHAR,
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (target_kind, target_id, utt_index, prompt_version, model)
);

-- Agreement between the rewrite's own labels and the independent annotator's, per run.
CREATE TABLE IF NOT EXISTS csconv.label_agreement (
    run_id          VARCHAR NOT NULL,
    scope           VARCHAR NOT NULL,            -- overall | strategy
    strategy_id     INTEGER,                     -- null for overall
    n               INTEGER NOT NULL,            -- turns compared (per strategy: used by either)
    accuracy        DOUBLE,
    kappa           DOUBLE,                      -- Cohen's kappa (one-vs-rest per strategy)
    computed_at     TIMESTAMP NOT NULL
);
