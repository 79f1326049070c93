-- Evaluation (csc-method §5): a model predicts the strategy and reply of every supporter turn
-- of the current CSConv set, in two settings (reference: gold history; generated: its own
-- earlier supporter turns, customer turns gold). A run is one model x setting under one
-- version (its endpoint model and generation parameters, its prompts; for a baseline, its
-- training data): run_key. New CSConv dialogues become pending under the same run_key, so
-- only what is missing is predicted.
CREATE SCHEMA IF NOT EXISTS eval;

CREATE TABLE IF NOT EXISTS eval.runs (
    run_key         VARCHAR PRIMARY KEY,
    model           VARCHAR NOT NULL,          -- the registry's name for it
    kind            VARCHAR NOT NULL,          -- model | baseline | simulator
    setting         VARCHAR NOT NULL,          -- reference | generated
    dataset         VARCHAR NOT NULL,          -- what it is evaluated on: csconv
    endpoint_model  VARCHAR,                   -- the name the endpoint serves (NULL: baseline)
    params          JSON NOT NULL,             -- generation parameters or baseline settings
    prompt_version  VARCHAR,                   -- the candidate prompts (zh|en); NULL: baseline
    created_at      TIMESTAMP NOT NULL
);

-- One row per supporter turn predicted. A parse failure (no readable answer after the
-- re-asks) is a row with parse_status 'failed' and NULL prediction: counted as wrong.
CREATE TABLE IF NOT EXISTS eval.predictions (
    run_key         VARCHAR NOT NULL,
    csconv_id       VARCHAR NOT NULL,
    utt_index       INTEGER NOT NULL,
    language        VARCHAR NOT NULL,
    gold_strategy   INTEGER NOT NULL,
    pred_strategy   INTEGER,
    gold_text       VARCHAR NOT NULL,
    pred_text       VARCHAR,
    parse_status    VARCHAR NOT NULL,          -- ok | failed
    error           VARCHAR,                   -- why a failed turn failed
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (run_key, csconv_id, utt_index)
);

-- One row per run and metric (x100 like the paper, with a 95% bootstrap interval resampled by
-- dialogue), plus per-strategy rows (strategy_id > 0), confusion counts (metric 'confusion',
-- predicted_id 1-12, 13 = unreadable) and per-phase accuracy (phase <> ''). A metric that was
-- not computed (BERTScore without a model) has value NULL and says why in status.
CREATE TABLE IF NOT EXISTS eval.metrics (
    run_key         VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    strategy_id     INTEGER NOT NULL,          -- 0: the whole run
    predicted_id    INTEGER NOT NULL,          -- 0 unless metric = 'confusion'
    phase           VARCHAR NOT NULL,          -- '' unless a per-phase row
    value           DOUBLE,
    ci_low          DOUBLE,
    ci_high         DOUBLE,
    n_turns         INTEGER NOT NULL,
    status          VARCHAR NOT NULL,          -- computed | not computed: <why>
    fingerprint     VARCHAR NOT NULL,          -- the predictions the metrics were computed on
    computed_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (run_key, metric, strategy_id, predicted_id, phase)
);

-- Run a minus run b (adjacent on the leaderboard of a setting), paired bootstrap by dialogue
-- over the turns both predicted: significant when the 95% interval excludes 0.
CREATE TABLE IF NOT EXISTS eval.comparisons (
    run_key_a       VARCHAR NOT NULL,
    run_key_b       VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    diff            DOUBLE NOT NULL,
    ci_low          DOUBLE NOT NULL,
    ci_high         DOUBLE NOT NULL,
    significant     BOOLEAN NOT NULL,
    computed_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (run_key_a, run_key_b, metric)
);
