-- Keep the judges' own reasoning (reasoning models), not only the rewriter's.
ALTER TABLE csconv.llm_prefilter ADD COLUMN IF NOT EXISTS reasoning VARCHAR;
ALTER TABLE csconv.judgements ADD COLUMN IF NOT EXISTS reasoning VARCHAR;
