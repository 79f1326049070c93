-- The current CSConv set's dialogues with the facts Great Expectations checks: speakers
-- alternate, the required strategies (1, 2, 11) are present, the utterance count matches.
SELECT c.csconv_id, c.language, c.n_utterances, c.strategy_use,
       coalesce(bool_and(u.prev IS NULL OR u.speaker <> u.prev), false) AS alternates,
       count(DISTINCT u.strategy_id) FILTER (WHERE u.strategy_id IN (1, 2, 11)) = 3
           AS has_required_strategies,
       count(u.utt_index) = c.n_utterances AS counts_match
FROM marts.csconv_current c
LEFT JOIN (SELECT *, lag(speaker) OVER (PARTITION BY csconv_id ORDER BY utt_index) AS prev
           FROM csconv.utterances) u USING (csconv_id)
GROUP BY c.csconv_id, c.language, c.n_utterances, c.strategy_use
