-- Which published set (and which suite) a checkpoint validated, so `csc export` can reuse the
-- latest verdict for an unchanged set instead of running Great Expectations again.
ALTER TABLE ops.quality_checks ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
