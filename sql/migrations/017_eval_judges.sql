-- LLM-judge scores per supporter turn, and a pairwise comparison with a reference model
-- (issue 14, beyond the paper). Both are keyed by the judged run and the judge's version
-- (its prompts, model and endpoint), so a changed judge judges again beside the old rows and
-- an unchanged one never asks twice.
CREATE SCHEMA IF NOT EXISTS eval;

-- One row per predicted supporter turn of a run, per judge version. status 'ok': three
-- scores 1-5; 'failed': the judge's answer could not be read after the re-asks (NULL scores,
-- error says why); 'skipped': the model's own answer was unreadable (parse_status 'failed'),
-- so there was nothing to judge.
CREATE TABLE IF NOT EXISTS eval.turn_judgements (
    run_key          VARCHAR NOT NULL,
    csconv_id        VARCHAR NOT NULL,
    utt_index        INTEGER NOT NULL,
    judge_version    VARCHAR NOT NULL,
    resolution       INTEGER CHECK (resolution BETWEEN 1 AND 5),
    empathy          INTEGER CHECK (empathy BETWEEN 1 AND 5),
    appropriateness  INTEGER CHECK (appropriateness BETWEEN 1 AND 5),
    reason           VARCHAR,
    status           VARCHAR NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    error            VARCHAR,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (run_key, csconv_id, utt_index, judge_version)
);

-- One row per supporter turn both the run and the reference run predicted, per judge
-- version. shown_first says whose reply the judge saw as "A" (by a hash of the turn, so
-- position bias cancels over a run). status 'ok': the judge's verdict; 'forfeit': one side
-- (or both) had no readable reply, so the other wins (both: tie) without asking; 'failed':
-- the judge's answer could not be read (verdict NULL, not counted).
CREATE TABLE IF NOT EXISTS eval.pairwise (
    run_key            VARCHAR NOT NULL,
    reference_run_key  VARCHAR NOT NULL,
    csconv_id          VARCHAR NOT NULL,
    utt_index          INTEGER NOT NULL,
    judge_version      VARCHAR NOT NULL,
    shown_first        VARCHAR NOT NULL CHECK (shown_first IN ('model', 'reference')),
    verdict            VARCHAR CHECK (verdict IN ('model', 'reference', 'tie')),
    reason             VARCHAR,
    status             VARCHAR NOT NULL CHECK (status IN ('ok', 'forfeit', 'failed')),
    error              VARCHAR,
    created_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (run_key, reference_run_key, csconv_id, utt_index, judge_version)
);
