-- Which process ran a run, so a run whose process is gone (killed, crashed) can be marked
-- 'abandoned' instead of staying 'running' forever. NULL for runs recorded before this.
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS host VARCHAR;
