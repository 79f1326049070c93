-- The rule pre-filter verdicts of the batch's new dialogues (new_ids); columns in
-- staging.prefilter's order.
INSERT INTO staging.prefilter
SELECT dialogue_id, rules_version, passed, failed_rules, n_lines, n_turns, n_customer,
       n_supporter, max_utterance_chars, customer_long_share, run_id, now()
FROM p_batch WHERE dialogue_id IN (SELECT dialogue_id FROM new_ids) ON CONFLICT DO NOTHING
