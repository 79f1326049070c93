-- Rule pre-filter verdicts of new dialogues (new_ids), gathered over batches like the
-- utterances; columns in staging.prefilter's order.
INSERT INTO staging.prefilter
SELECT dialogue_id, rules_version, passed, failed_rules, n_lines, n_turns, n_customer,
       n_supporter, max_utterance_chars, customer_long_share, run_id, now()
FROM p_new
