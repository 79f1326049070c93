-- Data-quality history (the quality gate, csc.quality.gate, stored in ops.validation_results):
-- one row per gate run and suite, newest first. A suite whose stage has produced nothing yet
-- is 'skipped' (no rows yet); 'failed' means at least one expectation failed, critical or
-- not; gate_passed says whether the whole run let publication go ahead (no critical failure).
CREATE OR REPLACE VIEW marts.quality_history AS
SELECT run_id, suite,
       min(checked_at) AS checked_at,
       CASE WHEN bool_and(status = 'skipped') THEN 'skipped'
            WHEN bool_or(status = 'failed') THEN 'failed'
            ELSE 'passed' END AS status,
       count(*) FILTER (WHERE status <> 'skipped')::BIGINT AS expectations,
       count(*) FILTER (WHERE status = 'failed' AND critical)::BIGINT AS critical_failures,
       count(*) FILTER (WHERE status = 'failed' AND NOT critical)::BIGINT AS warnings,
       coalesce(sum(unexpected_count) FILTER (WHERE status = 'failed'), 0)::BIGINT
           AS unexpected_rows,
       string_agg(DISTINCT "table" || ': ' || expectation, '; ')
           FILTER (WHERE status = 'failed') AS failed_expectations,
       NOT bool_or(bool_or(status = 'failed' AND critical)) OVER (PARTITION BY run_id)
           AS gate_passed
FROM ops.validation_results
GROUP BY run_id, suite
ORDER BY checked_at DESC, suite;

COMMENT ON VIEW marts.quality_history IS
    'One row per quality-gate run and suite (csconv, rolecs, eval, finetune), newest first';
COMMENT ON COLUMN marts.quality_history.run_id IS 'the flow run that ran the gate';
COMMENT ON COLUMN marts.quality_history.suite IS 'csconv | rolecs | eval | finetune';
COMMENT ON COLUMN marts.quality_history.checked_at IS 'when the suite was checked';
COMMENT ON COLUMN marts.quality_history.status IS
    'passed | failed (any expectation, critical or warning) | skipped (no rows yet)';
COMMENT ON COLUMN marts.quality_history.expectations IS 'expectations evaluated (0 if skipped)';
COMMENT ON COLUMN marts.quality_history.critical_failures IS
    'failed expectations that stop publication';
COMMENT ON COLUMN marts.quality_history.warnings IS 'failed expectations that only warn';
COMMENT ON COLUMN marts.quality_history.unexpected_rows IS
    'rows that broke a failed expectation, summed over them';
COMMENT ON COLUMN marts.quality_history.failed_expectations IS
    '"table: expectation" of each failure; NULL when none failed';
COMMENT ON COLUMN marts.quality_history.gate_passed IS
    'the whole run had no critical failure: publication went ahead';
