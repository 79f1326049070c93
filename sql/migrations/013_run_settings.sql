-- The effective settings a run started with (csc.settings.record): every CSC_* setting by its
-- variable's name, and the other CSC_* variables as set, secrets redacted. NULL for runs
-- recorded before this, and for a run refused because its settings could not be read.
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS settings JSON;
