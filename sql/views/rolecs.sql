-- RoleCS views for analysts. rolecs.dialogues rows are written once and never updated, so the
-- near-duplicate check (rolecs.near_duplicates) is applied here, in one place.

-- THE ACCEPTED SET of RoleCS: the dialogues the judge passed 5/5 (status 'accepted') that the
-- near-duplicate check has seen and found to repeat no earlier dialogue or scenario. This view,
-- not rolecs.dialogues.status, is what "accepted" means: the training set, the report's
-- accepted rate and the flow's summary all read it. A dialogue not yet checked is not in it.
CREATE OR REPLACE VIEW marts.rolecs_accepted AS
SELECT d.*
FROM rolecs.dialogues d
JOIN rolecs.near_duplicates n USING (dialogue_id)
WHERE d.status = 'accepted' AND n.duplicate_of IS NULL;

-- Dialogues per language, outcome, stored status and stop reason. outcome: accepted (in
-- marts.rolecs_accepted), near_duplicate (judge-passed, but repeats an earlier one), unchecked
-- (judge-passed, near-duplicate check not run yet), rejected (by the judge), stopped (before
-- the judge: loop, strategy_repeated).
CREATE OR REPLACE VIEW marts.rolecs_outcomes AS
SELECT d.language,
       CASE WHEN a.dialogue_id IS NOT NULL THEN 'accepted'
            WHEN d.status <> 'accepted' THEN d.status
            WHEN n.dialogue_id IS NULL THEN 'unchecked'
            ELSE 'near_duplicate' END AS outcome,
       d.status, d.stop_reason, count(*)::BIGINT AS dialogues
FROM rolecs.dialogues d
LEFT JOIN marts.rolecs_accepted a USING (dialogue_id)
LEFT JOIN rolecs.near_duplicates n USING (dialogue_id)
GROUP BY ALL;

COMMENT ON VIEW marts.rolecs_accepted IS 'THE RoleCS accepted set (the training data): dialogues the judge passed 5/5 that the near-duplicate check found to repeat nothing earlier. Columns of rolecs.dialogues.';
COMMENT ON VIEW marts.rolecs_outcomes IS 'RoleCS dialogues per language, outcome (accepted, near_duplicate, unchecked, rejected, stopped), stored status and stop reason.';
COMMENT ON COLUMN marts.rolecs_outcomes.outcome IS 'accepted (in marts.rolecs_accepted), near_duplicate, unchecked (near-duplicate check pending), rejected (by the judge), stopped (before the judge).';
COMMENT ON COLUMN marts.rolecs_outcomes.dialogues IS 'Dialogues (BIGINT).';

-- One row per language: the outcomes' counts, the accepted rate, and utterances per accepted
-- dialogue.
CREATE OR REPLACE VIEW marts.rolecs_summary AS
SELECT o.language, o.dialogues, o.accepted,
       round(100.0 * o.accepted / o.dialogues, 2) AS accepted_pct,
       o.near_duplicates, o.rejected, o.stopped, o.unchecked,
       l.mean_utterances, l.min_utterances, l.max_utterances
FROM (SELECT language, sum(dialogues)::BIGINT AS dialogues,
             coalesce(sum(dialogues) FILTER (WHERE outcome = 'accepted'), 0)::BIGINT
                 AS accepted,
             coalesce(sum(dialogues) FILTER (WHERE outcome = 'near_duplicate'), 0)::BIGINT
                 AS near_duplicates,
             coalesce(sum(dialogues) FILTER (WHERE outcome = 'rejected'), 0)::BIGINT
                 AS rejected,
             coalesce(sum(dialogues) FILTER (WHERE outcome = 'stopped'), 0)::BIGINT AS stopped,
             coalesce(sum(dialogues) FILTER (WHERE outcome = 'unchecked'), 0)::BIGINT
                 AS unchecked
      FROM marts.rolecs_outcomes GROUP BY language) o
LEFT JOIN (SELECT language, round(avg(n_utterances), 2) AS mean_utterances,
                  min(n_utterances) AS min_utterances, max(n_utterances) AS max_utterances
           FROM marts.rolecs_accepted GROUP BY language) l USING (language);

COMMENT ON VIEW marts.rolecs_summary IS 'RoleCS quality per language: simulated dialogues by outcome, the accepted rate, and utterances per accepted dialogue. Accepted = marts.rolecs_accepted (judged 5/5, not a near-duplicate).';
COMMENT ON COLUMN marts.rolecs_summary.language IS 'zh or en.';
COMMENT ON COLUMN marts.rolecs_summary.dialogues IS 'Simulated dialogues, every outcome.';
COMMENT ON COLUMN marts.rolecs_summary.accepted IS 'Dialogues in marts.rolecs_accepted: the training set.';
COMMENT ON COLUMN marts.rolecs_summary.accepted_pct IS 'accepted as a percentage of dialogues.';
COMMENT ON COLUMN marts.rolecs_summary.near_duplicates IS 'Judge-passed, but repeating an earlier dialogue or scenario (marts.rolecs_near_duplicates).';
COMMENT ON COLUMN marts.rolecs_summary.rejected IS 'Failed the judge.';
COMMENT ON COLUMN marts.rolecs_summary.stopped IS 'Stopped before the judge (a loop, a repeated strategy).';
COMMENT ON COLUMN marts.rolecs_summary.unchecked IS 'Judge-passed, near-duplicate check not run yet: not accepted until it is.';
COMMENT ON COLUMN marts.rolecs_summary.mean_utterances IS 'Mean utterances per accepted dialogue.';
COMMENT ON COLUMN marts.rolecs_summary.min_utterances IS 'Fewest utterances of an accepted dialogue.';
COMMENT ON COLUMN marts.rolecs_summary.max_utterances IS 'Most utterances of an accepted dialogue.';

-- Every dialogue marked as a near-duplicate, with the earlier one it repeats.
CREATE OR REPLACE VIEW marts.rolecs_near_duplicates AS
SELECT n.dialogue_id, d.language, n.kind, n.duplicate_of, n.similarity, n.threshold,
       d.status, n.checked_at
FROM rolecs.near_duplicates n
JOIN rolecs.dialogues d USING (dialogue_id)
WHERE n.duplicate_of IS NOT NULL;

-- Supporter turns per language and strategy in the accepted set; names from marts.strategies.
CREATE OR REPLACE VIEW marts.rolecs_strategy_distribution AS
SELECT d.language, d.strategy_id, d.turns, d.pct, s.strategy_name, s.strategy_name_zh
FROM (
    SELECT a.language, u.strategy_id, count(*)::BIGINT AS turns,
           round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY a.language), 2) AS pct
    FROM marts.rolecs_accepted a JOIN rolecs.utterances u USING (dialogue_id)
    WHERE u.speaker = 'supporter'
    GROUP BY a.language, u.strategy_id) d
LEFT JOIN marts.strategies s USING (strategy_id);

-- Which strategy follows which: consecutive supporter turns of an accepted dialogue (the
-- customer turn between them skipped). pct is the share of the transitions out of
-- from_strategy_id (each row of the matrix sums to 100 per language).
CREATE OR REPLACE VIEW marts.rolecs_strategy_transitions AS
SELECT t.language, t.from_strategy_id, t.to_strategy_id, t.transitions, t.pct,
       f.strategy_abbr AS from_strategy_abbr, x.strategy_abbr AS to_strategy_abbr
FROM (
    SELECT language, strategy_id AS from_strategy_id, next_id AS to_strategy_id,
           count(*)::BIGINT AS transitions,
           round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY language, strategy_id), 2)
               AS pct
    FROM (SELECT a.language, u.strategy_id,
                 lead(u.strategy_id) OVER (PARTITION BY u.dialogue_id ORDER BY u.utt_index)
                     AS next_id
          FROM marts.rolecs_accepted a JOIN rolecs.utterances u USING (dialogue_id)
          WHERE u.speaker = 'supporter')
    WHERE next_id IS NOT NULL
    GROUP BY language, strategy_id, next_id) t
LEFT JOIN marts.strategies f ON f.strategy_id = t.from_strategy_id
LEFT JOIN marts.strategies x ON x.strategy_id = t.to_strategy_id;

-- For each language and each of the 5 conversation stages: how many accepted dialogues touch
-- it (a supporter turn whose strategy's usual stage it is; Others has none) and their share.
CREATE OR REPLACE VIEW marts.rolecs_stage_coverage AS
SELECT l.language, g.stage_id, g.stage_name, g.stage_name_zh,
       count(t.dialogue_id)::BIGINT AS dialogues, l.accepted AS accepted_dialogues,
       round(100.0 * count(t.dialogue_id) / l.accepted, 2) AS pct
FROM (SELECT language, count(*)::BIGINT AS accepted FROM marts.rolecs_accepted
      GROUP BY language) l
CROSS JOIN marts.stages g
LEFT JOIN (SELECT DISTINCT a.language, a.dialogue_id, s.stage_id
           FROM marts.rolecs_accepted a
           JOIN rolecs.utterances u USING (dialogue_id)
           JOIN marts.strategies s USING (strategy_id)
           WHERE u.speaker = 'supporter' AND s.stage_id IS NOT NULL) t
  ON t.language = l.language AND t.stage_id = g.stage_id
GROUP BY l.language, g.stage_id, g.stage_name, g.stage_name_zh, l.accepted;
