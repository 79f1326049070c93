-- Views across the stages. The file name sorts after csconv.sql and rolecs.sql on purpose:
-- these views read marts.csconv_current, marts.raw_strategy_distribution and
-- marts.rolecs_accepted, which must exist first.

-- Strategy use in every dataset at once: supporter turns per pipeline stage (raw logs as the
-- independent annotator labels them, the current CSConv set, the accepted RoleCS set), source
-- and language, with the strategy's names and usual conversation stage. One view to compare
-- the three; the per-stage views (csconv_, raw_, rolecs_strategy_distribution) keep their
-- columns for the queries that use them.
CREATE OR REPLACE VIEW marts.strategy_distribution AS
SELECT d.pipeline_stage, d.source, d.language, d.strategy_id, s.strategy_abbr,
       s.strategy_name, s.strategy_name_zh, s.stage_id, s.stage_name, d.turns,
       round(100.0 * d.turns
             / sum(d.turns) OVER (PARTITION BY d.pipeline_stage, d.source, d.language), 2)
           AS pct
FROM (
    SELECT 'raw' AS pipeline_stage, source, language, strategy_id, turns
    FROM marts.raw_strategy_distribution
    UNION ALL
    SELECT 'csconv', r.source, c.language, u.strategy_id, count(*)::BIGINT
    FROM marts.csconv_current c
    JOIN csconv.utterances u USING (csconv_id)
    JOIN raw.dialogues r ON r.dialogue_id = c.dialogue_id
    WHERE u.speaker = 'supporter'
    GROUP BY ALL
    UNION ALL
    SELECT 'rolecs', a.topic, a.language, u.strategy_id, count(*)::BIGINT
    FROM marts.rolecs_accepted a
    JOIN rolecs.utterances u USING (dialogue_id)
    WHERE u.speaker = 'supporter'
    GROUP BY ALL) d
LEFT JOIN marts.strategies s USING (strategy_id);

COMMENT ON VIEW marts.strategy_distribution IS 'Supporter turns per pipeline stage (raw, csconv, rolecs), source, language and strategy, with names and the usual conversation stage; pct is the share within (pipeline_stage, source, language).';
COMMENT ON COLUMN marts.strategy_distribution.pipeline_stage IS 'raw: real logs labelled by the independent annotator; csconv: the current CSConv set (rewriter labels); rolecs: the accepted RoleCS set (marts.rolecs_accepted).';
COMMENT ON COLUMN marts.strategy_distribution.source IS 'raw and csconv: the ingest source of the raw dialogue (raw.dialogues.source); rolecs: the dialogue''s topic, as the RoleCS export writes it.';
COMMENT ON COLUMN marts.strategy_distribution.language IS 'zh or en.';
COMMENT ON COLUMN marts.strategy_distribution.strategy_id IS 'CSC strategy 1-12 (marts.strategies); NULL: a raw label the annotator gave that did not map to one.';
COMMENT ON COLUMN marts.strategy_distribution.strategy_abbr IS 'Short strategy name (GT, IV, ...); NULL when strategy_id is NULL.';
COMMENT ON COLUMN marts.strategy_distribution.strategy_name IS 'English strategy name; NULL when strategy_id is NULL.';
COMMENT ON COLUMN marts.strategy_distribution.strategy_name_zh IS 'Chinese strategy name; NULL when strategy_id is NULL.';
COMMENT ON COLUMN marts.strategy_distribution.stage_id IS 'The strategy''s usual conversation stage 1-5 (a guide, not a rule); NULL for 12 Others and unmapped labels.';
COMMENT ON COLUMN marts.strategy_distribution.stage_name IS 'English name of stage_id (marts.stages).';
COMMENT ON COLUMN marts.strategy_distribution.turns IS 'Supporter turns with this strategy (BIGINT).';
COMMENT ON COLUMN marts.strategy_distribution.pct IS 'turns as a percentage of all supporter turns of the same pipeline_stage, source and language.';
