-- The §3.2 rules R3/R4 count raw lines, not merged utterances: each utterance keeps the
-- lengths (characters) of the raw lines merged into it. NULL for rows stored before this
-- column existed; the rules then count such an utterance as one line.
ALTER TABLE raw.utterances ADD COLUMN IF NOT EXISTS source_line_chars INTEGER[];
COMMENT ON COLUMN staging.prefilter.n_lines IS 'merged utterances (turns = n_lines // 2)';
COMMENT ON COLUMN staging.prefilter.n_customer IS 'customer raw lines, before merging';
COMMENT ON COLUMN staging.prefilter.n_supporter IS 'supporter raw lines, before merging';
COMMENT ON COLUMN staging.prefilter.customer_long_share IS
    'share of customer raw lines longer than the rules'' customer_long_chars';
