-- csconv.label_agreement keyed by what it measured (issue 16). Every csconv run used to add a
-- fresh copy of the same 13 rows; from here a measurement is written only when the turns it
-- compared differ from the newest stored one's. measured_key hashes those turns (csconv_id,
-- utt_index, both labels) and the computation's version (csc.csconv.annotate.measured_key);
-- rows written before this migration have none.
ALTER TABLE csconv.label_agreement ADD COLUMN IF NOT EXISTS measured_key VARCHAR;

-- The copies already written go: a run whose rows repeat the previous run's exactly (same
-- scopes, strategies, n, accuracy, kappa) said nothing new. The first run of each unchanged
-- streak stays, so marts.label_agreement_latest shows the same numbers as before, under the
-- run that first measured them.
DELETE FROM csconv.label_agreement
WHERE run_id IN (
    SELECT run_id FROM (
        SELECT run_id, content,
               lag(content) OVER (ORDER BY measured_at, run_id) AS previous
        FROM (SELECT run_id, min(computed_at) AS measured_at,
                     string_agg(concat_ws('|', scope, coalesce(strategy_id::VARCHAR, '-'), n,
                                          coalesce(accuracy::VARCHAR, '-'),
                                          coalesce(kappa::VARCHAR, '-')), ';'
                                ORDER BY scope, strategy_id NULLS FIRST) AS content
              FROM csconv.label_agreement GROUP BY run_id))
    WHERE content = previous);
