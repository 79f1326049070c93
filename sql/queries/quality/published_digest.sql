-- Which dialogues are published: a csconv_id fixes its dialogue's content (source dialogue
-- and pipeline version), so the same ids mean the same set.
SELECT md5(coalesce(string_agg(csconv_id, ',' ORDER BY csconv_id), '')) FROM marts.csconv_current
