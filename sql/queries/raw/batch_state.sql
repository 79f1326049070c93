-- Each dialogue of the batch (d_batch) against the stored ones, asked once: `stored`, its
-- content key is in raw.dialogues already; `clash`, its source id is stored (in the same
-- language: a translation shares its original's id) with other content. A clash is
-- quarantined, never an update. raw/clashes, raw/present and raw/new_ids read this table
-- instead of each scanning raw.dialogues again (a nightly refresh into a large warehouse
-- scans it once per question per batch).
CREATE OR REPLACE TEMP TABLE batch_state AS
SELECT b.dialogue_id,
       b.dialogue_id IN (SELECT dialogue_id FROM raw.dialogues) AS stored,
       EXISTS (SELECT 1 FROM raw.dialogues r WHERE r.source = b.source
           AND r.language = b.language AND r.source_dialogue_id = b.source_dialogue_id
           AND r.dialogue_id <> b.dialogue_id) AS clash
FROM d_batch b
