-- When the run's process started (seconds since the epoch, from the OS), so a pid the OS has
-- since given to another process (after a reboot, in a small container) is not taken for the
-- run: the run lock and the 'abandoned' check compare it. NULL where the OS does not say.
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS proc_started DOUBLE;
