-- Which pipeline versions and models made the current CSConv set (of one language, or all
-- when the language is NULL). Parameter: language (used twice, as $1).
SELECT DISTINCT pipeline_version, rewriter_model, judge_model
FROM marts.csconv_current
WHERE $1::VARCHAR IS NULL OR language = $1
ORDER BY ALL
