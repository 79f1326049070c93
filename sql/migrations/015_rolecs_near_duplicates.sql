-- RoleCS near-duplicates (csc/rolecs/near_duplicates.py): one row per dialogue checked, so a
-- rerun checks only the dialogues without a row. A dialogue whose text (kind 'dialogue') or
-- scenario and goal (kind 'scenario') nearly repeats an EARLIER dialogue's (created first, ties
-- by id) names it in duplicate_of, with the exact Jaccard similarity of their character
-- shingles; kind, duplicate_of and similarity are NULL for a dialogue checked and found to be
-- no near-duplicate. When both its text and its scenario repeat, kind is 'dialogue'.
-- rolecs.dialogues is never updated: the accepted set is the view marts.rolecs_accepted.
CREATE TABLE IF NOT EXISTS rolecs.near_duplicates (
    dialogue_id   VARCHAR PRIMARY KEY,
    kind          VARCHAR,                        -- dialogue | scenario; NULL: not a duplicate
    duplicate_of  VARCHAR,                        -- the earlier dialogue's id
    similarity    DOUBLE,                         -- exact Jaccard of the shingle sets, >= threshold
    threshold     DOUBLE NOT NULL,                -- the threshold it was checked with
    checked_at    TIMESTAMP NOT NULL
);
