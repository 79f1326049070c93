-- The report's near-duplicates per language and kind (marts.rolecs_near_duplicates): how
-- many, and the least and mean exact similarity.
SELECT language, kind, count(*)::BIGINT AS dialogues, min(similarity) AS min_similarity,
       avg(similarity) AS mean_similarity
FROM marts.rolecs_near_duplicates GROUP BY language, kind ORDER BY language, kind
