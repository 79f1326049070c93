-- Strategy use excluding Others (%) in raw dialogues, as the independent annotator labels
-- them.
SELECT round(100.0 * count(*) FILTER (WHERE strategy_id BETWEEN 1 AND 11) / nullif(count(*), 0),
             2) AS strategy_use_pct
FROM csconv.annotations WHERE target_kind = 'raw'
