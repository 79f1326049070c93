-- The fingerprint a run's stored metrics were computed on ('' when it has none).
-- Parameter: run_key.
SELECT coalesce(max(fingerprint), '') FROM eval.metrics WHERE run_key = ?
