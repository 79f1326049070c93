-- Analyst views over the raw layer; recreated on every migration run, so edit them freely.
-- Sums are cast to BIGINT: DuckDB's sum() of integers is HUGEINT (pandas: float64).
CREATE OR REPLACE VIEW marts.ingest_by_source AS
SELECT d.source,
       d.language,
       count(*)                         AS dialogues,
       sum(d.n_utterances)::BIGINT      AS utterances,
       round(avg(d.n_utterances), 2)    AS mean_utterances,
       sum(d.pii_masked)::BIGINT        AS pii_masked,
       sum(d.n_empty_dropped)::BIGINT   AS empty_lines_dropped
FROM raw.dialogues d
GROUP BY ALL;

-- The most recent verdict per dialogue (rules thresholds may have changed since).
CREATE OR REPLACE VIEW marts.prefilter_latest AS
SELECT p.*
FROM staging.prefilter p
QUALIFY row_number() OVER (PARTITION BY dialogue_id ORDER BY evaluated_at DESC) = 1;

CREATE OR REPLACE VIEW marts.prefilter_summary AS
SELECT d.source,
       count(*)                                      AS dialogues,
       count(*) FILTER (WHERE p.passed)              AS passed,
       count(*) FILTER (WHERE NOT p.passed)          AS dropped
FROM raw.dialogues d
JOIN marts.prefilter_latest p USING (dialogue_id)
GROUP BY ALL;

CREATE OR REPLACE VIEW marts.prefilter_rule_counts AS
SELECT rule, count(*) AS dialogues
FROM (SELECT unnest(failed_rules) AS rule FROM marts.prefilter_latest)
GROUP BY ALL;

CREATE OR REPLACE VIEW marts.quarantine_by_check AS
SELECT source, "check", count(*) AS records
FROM raw.quarantine
GROUP BY ALL;
