-- The measured_key of the newest csconv.label_agreement measurement (NULL for one written
-- before migration 019 keyed them); no row when nothing was ever measured.
SELECT measured_key FROM csconv.label_agreement ORDER BY computed_at DESC LIMIT 1
