-- What the checks after a rewrite found (issue 11 A6, A7), kept with the rewrite.
-- pii_masked: PII spans the ingest masker replaced in the rewritten turns before they were
-- stored; pii_masked_reasoning: the same in the model's reasoning. faithfulness: the share of
-- the source's terms found in the rewrite (csc.csconv.faithfulness), NULL when it was not
-- computed (a rule step dropped the rewrite first, or the source is too short to judge).
-- All three are NULL on rewrites stored before this migration.
ALTER TABLE csconv.rewrites ADD COLUMN IF NOT EXISTS pii_masked INTEGER;
ALTER TABLE csconv.rewrites ADD COLUMN IF NOT EXISTS pii_masked_reasoning INTEGER;
ALTER TABLE csconv.rewrites ADD COLUMN IF NOT EXISTS faithfulness DOUBLE;
