-- The export with this id, if one was written: created_at, path. Parameter: export_id.
SELECT created_at, path FROM finetune.exports WHERE export_id = ?
