-- Evaluation views for analysts (csc-method §5). Every figure is x100 like the paper, except
-- resp_len (characters for zh, words for en); each has its 95% bootstrap interval
-- (resampled by dialogue). A metric that was not computed is NULL with its status, never 0.

-- The runs whose metrics are current: for each model and setting, the run computed last
-- (a baseline's run_key changes when its training data does; the newest one stands).
CREATE OR REPLACE VIEW marts.eval_current_runs AS
SELECT r.*, m.computed_at, m.n_turns
FROM eval.runs r
JOIN (SELECT run_key, max(computed_at) AS computed_at, max(n_turns) AS n_turns
      FROM eval.metrics WHERE strategy_id = 0 AND phase = '' GROUP BY run_key) m USING (run_key)
QUALIFY row_number() OVER (PARTITION BY r.model, r.setting ORDER BY m.computed_at DESC) = 1;

-- THE LEADERBOARD: one row per model and setting, ranked by strategy accuracy within the
-- setting. acc_differs_from_next says whether the row's accuracy differs significantly from
-- the next row's (paired bootstrap, 95%); NULL on the last row. kind 'simulator' rows are the
-- offline simulator's answers: a pipeline check, never a model's result.
CREATE OR REPLACE VIEW marts.leaderboard AS
WITH headline AS (
    SELECT run_key,
           max(value) FILTER (WHERE metric = 'acc') AS acc,
           max(ci_low) FILTER (WHERE metric = 'acc') AS acc_ci_low,
           max(ci_high) FILTER (WHERE metric = 'acc') AS acc_ci_high,
           max(value) FILTER (WHERE metric = 'macro_f1') AS macro_f1,
           max(ci_low) FILTER (WHERE metric = 'macro_f1') AS macro_f1_ci_low,
           max(ci_high) FILTER (WHERE metric = 'macro_f1') AS macro_f1_ci_high,
           max(value) FILTER (WHERE metric = 'stage_acc') AS stage_acc,
           max(value) FILTER (WHERE metric = 'bleu2') AS bleu2,
           max(ci_low) FILTER (WHERE metric = 'bleu2') AS bleu2_ci_low,
           max(ci_high) FILTER (WHERE metric = 'bleu2') AS bleu2_ci_high,
           max(value) FILTER (WHERE metric = 'bleu4') AS bleu4,
           max(value) FILTER (WHERE metric = 'rouge_l') AS rouge_l,
           max(value) FILTER (WHERE metric = 'bertscore') AS bertscore,
           max(status) FILTER (WHERE metric = 'bertscore') AS bertscore_status,
           max(value) FILTER (WHERE metric = 'distinct1') AS distinct1,
           max(value) FILTER (WHERE metric = 'distinct2') AS distinct2,
           max(value) FILTER (WHERE metric = 'resp_len') AS resp_len,
           max(value) FILTER (WHERE metric = 'parse_failures') AS parse_failures
    FROM eval.metrics WHERE strategy_id = 0 AND predicted_id = 0 AND phase = ''
    GROUP BY run_key),
ranked AS (
    SELECT r.setting, r.model, r.kind, r.run_key, r.n_turns, r.computed_at,
           json_extract_string(r.params, '$.base') AS base_model, h.*  EXCLUDE (run_key),
           row_number() OVER (PARTITION BY r.setting ORDER BY h.acc DESC NULLS LAST, r.run_key)
               AS rank,
           lead(r.run_key) OVER (PARTITION BY r.setting ORDER BY h.acc DESC NULLS LAST, r.run_key)
               AS next_run_key
    FROM marts.eval_current_runs r JOIN headline h USING (run_key)),
-- LLM-judge figures (beyond the paper; docs/metrics.md): mean 1-5 scores over the judged
-- turns, and the win rate (x100) against the reference model; NULL when not computed (the
-- status is in eval.metrics).
judges AS (
    SELECT run_key,
           max(value) FILTER (WHERE metric = 'judge_resolution') AS judge_resolution,
           max(value) FILTER (WHERE metric = 'judge_empathy') AS judge_empathy,
           max(value) FILTER (WHERE metric = 'judge_appropriateness') AS judge_appropriateness,
           max(value) FILTER (WHERE metric = 'win_rate') AS win_rate
    FROM eval.metrics WHERE strategy_id = 0 AND predicted_id = 0 AND phase = ''
    GROUP BY run_key)
SELECT k.* EXCLUDE (next_run_key),
       c.significant AS acc_differs_from_next,
       j.judge_resolution, j.judge_empathy, j.judge_appropriateness, j.win_rate
FROM ranked k
LEFT JOIN eval.comparisons c
  ON c.run_key_a = k.run_key AND c.run_key_b = k.next_run_key AND c.metric = 'acc'
LEFT JOIN judges j USING (run_key)
ORDER BY k.setting, k.rank;

COMMENT ON VIEW marts.leaderboard IS 'The evaluation headline: per setting, the current run of each model ranked by strategy accuracy (x100, 95% bootstrap intervals by dialogue). kind simulator rows are the offline simulator: a pipeline check, never a result.';
COMMENT ON COLUMN marts.leaderboard.setting IS 'reference: the gold history; generated: the model''s own earlier supporter turns (customer turns stay gold).';
COMMENT ON COLUMN marts.leaderboard.model IS 'The registry''s model name.';
COMMENT ON COLUMN marts.leaderboard.kind IS 'model, baseline or simulator (the offline simulator: never a model''s result).';
COMMENT ON COLUMN marts.leaderboard.run_key IS 'The run (eval.runs): model, setting and version; joins eval.metrics.';
COMMENT ON COLUMN marts.leaderboard.n_turns IS 'Supporter turns scored.';
COMMENT ON COLUMN marts.leaderboard.computed_at IS 'When the run''s metrics were computed.';
COMMENT ON COLUMN marts.leaderboard.base_model IS 'The model a fine-tuned model was fine-tuned from; NULL otherwise.';
COMMENT ON COLUMN marts.leaderboard.rank IS 'Rank within the setting by acc (1 = best; ties by run_key).';
COMMENT ON COLUMN marts.leaderboard.acc IS 'Strategy accuracy x100; acc_ci_low, acc_ci_high its 95% bootstrap interval.';
COMMENT ON COLUMN marts.leaderboard.macro_f1 IS 'Macro F1 over the 12 strategies x100, with its interval.';
COMMENT ON COLUMN marts.leaderboard.stage_acc IS 'Accuracy of the strategy''s conversation stage x100.';
COMMENT ON COLUMN marts.leaderboard.bleu2 IS 'BLEU-2 of the reply x100, with its interval.';
COMMENT ON COLUMN marts.leaderboard.rouge_l IS 'ROUGE-L of the reply x100.';
COMMENT ON COLUMN marts.leaderboard.bertscore IS 'BERTScore x100; NULL when not computed (bertscore_status says why).';
COMMENT ON COLUMN marts.leaderboard.resp_len IS 'Mean reply length: characters for zh, words for en (not x100).';
COMMENT ON COLUMN marts.leaderboard.parse_failures IS 'Turns whose answer stayed unreadable (counted as wrong).';
COMMENT ON COLUMN marts.leaderboard.acc_differs_from_next IS 'Whether acc differs significantly from the next row''s (paired bootstrap, 95%); NULL on the last row.';
COMMENT ON COLUMN marts.leaderboard.win_rate IS 'Pairwise LLM-judge win rate x100 against the reference model, ties half; NULL when not computed.';

-- Each fine-tuned model (issue 15: finetune.jobs that succeeded) beside the model it was
-- fine-tuned from, per setting: the "+RoleCS" rows of the paper. Differences are point
-- estimates (fine-tuned minus base); the leaderboard holds the intervals.
CREATE OR REPLACE VIEW marts.finetune_deltas AS
SELECT t.setting, t.model, t.kind, t.base_model,
       t.acc, b.acc AS base_acc, t.acc - b.acc AS acc_delta,
       t.macro_f1, b.macro_f1 AS base_macro_f1, t.macro_f1 - b.macro_f1 AS macro_f1_delta,
       t.bleu2, b.bleu2 AS base_bleu2, t.bleu2 - b.bleu2 AS bleu2_delta,
       t.rouge_l, b.rouge_l AS base_rouge_l, t.rouge_l - b.rouge_l AS rouge_l_delta,
       t.run_key, b.run_key AS base_run_key
FROM marts.leaderboard t
LEFT JOIN marts.leaderboard b ON b.setting = t.setting AND b.model = t.base_model
WHERE t.base_model IS NOT NULL
ORDER BY t.setting, t.model;

-- Per-strategy precision, recall and F1 of the current runs, with strategy names.
CREATE OR REPLACE VIEW marts.eval_per_strategy AS
SELECT r.model, r.kind, r.setting, m.strategy_id, s.strategy_name,
       max(m.value) FILTER (WHERE m.metric = 'precision') AS precision,
       max(m.value) FILTER (WHERE m.metric = 'recall') AS recall,
       max(m.value) FILTER (WHERE m.metric = 'f1') AS f1,
       max(m.value) FILTER (WHERE m.metric = 'support')::BIGINT AS support
FROM marts.eval_current_runs r
JOIN eval.metrics m USING (run_key)
JOIN marts.strategies s ON s.strategy_id = m.strategy_id
WHERE m.strategy_id > 0 AND m.metric IN ('precision', 'recall', 'f1', 'support')
GROUP BY ALL
ORDER BY r.setting, r.model, m.strategy_id;
