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

CREATE OR REPLACE VIEW marts.csconv_funnel AS
SELECT coalesce(step, 'kept') AS outcome, count(*) AS dialogues
FROM marts.csconv_outcomes
GROUP BY ALL
UNION ALL
SELECT 'dead_lettered', count(*) FROM marts.csconv_dead_lettered;

CREATE OR REPLACE VIEW marts.csconv_strategy_distribution AS
SELECT d.language, u.strategy_id, count(*) AS turns,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY d.language), 2) AS pct
FROM marts.csconv_current d JOIN csconv.utterances u USING (csconv_id)
WHERE u.speaker = 'supporter'
GROUP BY d.language, u.strategy_id;

-- Strategy use in real, unrewritten logs, as the independent annotator labels it.
CREATE OR REPLACE VIEW marts.raw_strategy_distribution AS
SELECT d.source, d.language, a.strategy_id, count(*) AS turns
FROM csconv.annotations a JOIN raw.dialogues d ON d.dialogue_id = a.target_id
WHERE a.target_kind = 'raw'
GROUP BY ALL;

CREATE OR REPLACE VIEW marts.label_agreement_latest AS
SELECT * FROM csconv.label_agreement
WHERE run_id = (SELECT run_id FROM csconv.label_agreement ORDER BY computed_at DESC LIMIT 1);
