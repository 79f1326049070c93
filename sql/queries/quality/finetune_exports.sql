-- Every fine-tune export, with whether its counts add up: each considered dialogue is in the
-- training split, the validation split, or dropped; truncated ones were written.
SELECT export_id, n_dialogues, n_train, n_validation, n_dropped, n_truncated,
       n_train + n_validation + n_dropped = n_dialogues AS counts_add_up,
       n_truncated <= n_train + n_validation AS truncated_within_written
FROM finetune.exports
