-- The results of the latest checkpoint over one fingerprint (set and suite). Parameter:
-- fingerprint.
SELECT "table", expectation, "column", success, unexpected_count
FROM ops.quality_checks
WHERE run_id = (SELECT run_id FROM ops.quality_checks
                WHERE fingerprint = ? ORDER BY checked_at DESC LIMIT 1)
