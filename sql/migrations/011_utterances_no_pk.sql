-- raw.utterances without its PRIMARY KEY (dialogue_id, utt_index). Utterances are only ever
-- inserted, whole dialogues at a time, for dialogue_ids new to raw.dialogues (whose primary
-- key stays), and nothing writes them with ON CONFLICT: the index guarded nothing the insert
-- path does not already guarantee, and maintaining it was about 1-2 CPU-s of every 1M
-- utterances ingested (the insert and the COMMIT). DuckDB cannot drop a primary key in
-- place, so the table is rebuilt with the same columns in the same order; no view reads it.
CREATE TABLE raw.utterances_011 (
    dialogue_id        VARCHAR NOT NULL,
    utt_index          BIGINT NOT NULL,          -- 0-based order within the dialogue
    speaker            VARCHAR NOT NULL,         -- customer | supporter
    text               VARCHAR NOT NULL,
    n_chars            BIGINT NOT NULL,
    strategy_label     VARCHAR,                  -- label as the source gave it, if any
    source_line_chars  INTEGER[]                 -- lengths of the raw lines merged (008)
);
INSERT INTO raw.utterances_011
SELECT dialogue_id, utt_index, speaker, text, n_chars, strategy_label, source_line_chars
FROM raw.utterances;  -- in the order stored (DuckDB preserves insertion order)
DROP TABLE raw.utterances;
ALTER TABLE raw.utterances_011 RENAME TO utterances;
