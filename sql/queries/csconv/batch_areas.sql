-- The business area of each raw dialogue of a batch (a list of dialogue ids).
SELECT dialogue_id, business_area FROM raw.dialogues WHERE dialogue_id IN (SELECT unnest(?::VARCHAR[]))
