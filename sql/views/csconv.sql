-- CSConv views for analysts. A dialogue's latest outcome wins (pipeline versions change when
-- prompts, models or post-filter bounds do).
CREATE OR REPLACE VIEW marts.csconv_outcomes AS
SELECT dialogue_id, pipeline_version, outcome, step, reason, created_at
FROM (
    SELECT dialogue_id, pipeline_version, 'kept' AS outcome, NULL AS step, NULL AS reason,
           created_at FROM csconv.dialogues
    UNION ALL
    SELECT dialogue_id, pipeline_version, 'rejected', step, reason, created_at
    FROM csconv.rejects)
QUALIFY row_number() OVER (PARTITION BY dialogue_id ORDER BY created_at DESC) = 1;

-- The current CSConv set: kept dialogues of their latest outcome.
CREATE OR REPLACE VIEW marts.csconv_current AS
SELECT c.*
FROM csconv.dialogues c
JOIN marts.csconv_outcomes o
  ON o.dialogue_id = c.dialogue_id AND o.pipeline_version = c.pipeline_version
WHERE o.outcome = 'kept';

-- Rule-passed dialogues whose CSConv call failed for good and that have no outcome yet.
CREATE OR REPLACE VIEW marts.csconv_dead_lettered AS
SELECT DISTINCT item_key AS dialogue_id
FROM ops.llm_dead_letter
WHERE stage = 'csconv'
  AND item_key NOT IN (SELECT dialogue_id FROM marts.csconv_outcomes);

-- One row per outcome: kept, rejected (one row per reject step), dead_lettered. `step` is the
-- post-filter step that rejected, NULL for kept and dead-lettered.
CREATE OR REPLACE VIEW marts.csconv_funnel AS
SELECT outcome, step, count(*)::BIGINT AS dialogues
FROM marts.csconv_outcomes
GROUP BY ALL
UNION ALL
SELECT 'dead_lettered', NULL, count(*)::BIGINT FROM marts.csconv_dead_lettered;

COMMENT ON VIEW marts.csconv_funnel IS 'The CSConv funnel: dialogues per latest outcome (kept, rejected per post-filter step, dead_lettered). The funnel report reads it; it reconciles with the rule-passed input.';
COMMENT ON COLUMN marts.csconv_funnel.outcome IS 'kept, rejected or dead_lettered (the LLM call failed for good, no outcome yet).';
COMMENT ON COLUMN marts.csconv_funnel.step IS 'The post-filter step that rejected (llm_prefilter, length, judge, ...); NULL for kept and dead_lettered.';
COMMENT ON COLUMN marts.csconv_funnel.dialogues IS 'Dialogues with this outcome and step (BIGINT).';

-- Names come from marts.strategies (00_framework.sql); they follow the original columns so
-- queries that read columns by position keep working.
CREATE OR REPLACE VIEW marts.csconv_strategy_distribution AS
SELECT d.language, d.strategy_id, d.turns, d.pct, s.strategy_name, s.strategy_name_zh
FROM (
    SELECT d.language, u.strategy_id, count(*)::BIGINT AS turns,
           round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY d.language), 2) AS pct
    FROM marts.csconv_current d JOIN csconv.utterances u USING (csconv_id)
    WHERE u.speaker = 'supporter'
    GROUP BY d.language, u.strategy_id) d
LEFT JOIN marts.strategies s USING (strategy_id);

-- Strategy use in real, unrewritten logs, as the independent annotator labels it. Turns whose
-- label did not map have a NULL strategy_id (and NULL names).
CREATE OR REPLACE VIEW marts.raw_strategy_distribution AS
SELECT r.source, r.language, r.strategy_id, r.turns, s.strategy_name, s.strategy_name_zh
FROM (
    SELECT d.source, d.language, a.strategy_id, count(*)::BIGINT AS turns
    FROM csconv.annotations a JOIN raw.dialogues d ON d.dialogue_id = a.target_id
    WHERE a.target_kind = 'raw'
    GROUP BY ALL) r
LEFT JOIN marts.strategies s USING (strategy_id);

-- The newest measurement's agreement rows; 'strategy' rows carry the strategy's names,
-- 'overall' rows NULL names. A run writes a measurement only when the turns it compared
-- changed (measured_key), so the newest run_id is the run that first measured them.
CREATE OR REPLACE VIEW marts.label_agreement_latest AS
SELECT a.run_id, a.scope, a.strategy_id, a.n::BIGINT AS n, a.accuracy, a.kappa, a.computed_at,
       s.strategy_name, s.strategy_name_zh, a.measured_key
FROM csconv.label_agreement a
LEFT JOIN marts.strategies s USING (strategy_id)
WHERE a.run_id = (SELECT run_id FROM csconv.label_agreement ORDER BY computed_at DESC LIMIT 1);

COMMENT ON VIEW marts.label_agreement_latest IS 'Agreement of the rewriter''s strategy labels with the independent annotator''s on the current CSConv set, newest measurement: one overall row and one row per strategy.';
COMMENT ON COLUMN marts.label_agreement_latest.run_id IS 'The run that first measured these turns (a rerun over the same turns adds no row).';
COMMENT ON COLUMN marts.label_agreement_latest.scope IS 'overall, or strategy (one-vs-rest for strategy_id).';
COMMENT ON COLUMN marts.label_agreement_latest.strategy_id IS 'The strategy 1-12 of a strategy row; NULL on the overall row.';
COMMENT ON COLUMN marts.label_agreement_latest.computed_at IS 'When the measurement was stored.';
COMMENT ON COLUMN marts.label_agreement_latest.strategy_name IS 'English name of strategy_id; NULL on the overall row.';
COMMENT ON COLUMN marts.label_agreement_latest.strategy_name_zh IS 'Chinese name of strategy_id; NULL on the overall row.';
COMMENT ON COLUMN marts.label_agreement_latest.n IS 'Turns compared (per strategy: turns either side labelled with it).';
COMMENT ON COLUMN marts.label_agreement_latest.accuracy IS 'Share of turns where both labels agree (0-1).';
COMMENT ON COLUMN marts.label_agreement_latest.kappa IS 'Cohen''s kappa (0-1 scale, chance-corrected); NULL when undefined.';
COMMENT ON COLUMN marts.label_agreement_latest.measured_key IS 'Hash of the turns compared and both labels of each; NULL for measurements stored before it existed.';
