-- The current CSConv set's utterances, as Great Expectations validates them.
SELECT u.* FROM csconv.utterances u JOIN marts.csconv_current c USING (csconv_id)
