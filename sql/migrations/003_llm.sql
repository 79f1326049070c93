-- Every LLM call (cache hits included) and every item that failed for good.
CREATE TABLE IF NOT EXISTS ops.llm_calls (
    call_id           VARCHAR PRIMARY KEY,
    run_id            VARCHAR,
    stage             VARCHAR,
    role              VARCHAR,
    model             VARCHAR,
    item_key          VARCHAR,       -- what the call was for (a dialogue id, ...)
    prompt_hash       VARCHAR,       -- the content-addressed cache key of the request
    prompt_version    VARCHAR,
    input_tokens      BIGINT,
    output_tokens     BIGINT,
    reasoning_tokens  BIGINT,
    latency_ms        DOUBLE,
    attempts          INTEGER,       -- transport attempts (retries included)
    reasks            INTEGER,       -- re-asks after unusable answers
    status            VARCHAR,       -- ok | cached | dead
    cache_hit         BOOLEAN,
    cost_usd          DOUBLE,
    error             VARCHAR,
    created_at        TIMESTAMP
);

CREATE TABLE IF NOT EXISTS ops.llm_dead_letter (
    dl_id        VARCHAR PRIMARY KEY,
    run_id       VARCHAR,
    stage        VARCHAR,
    role         VARCHAR,
    item_key     VARCHAR,
    prompt_hash  VARCHAR,
    error        VARCHAR,
    attempts     INTEGER,
    created_at   TIMESTAMP
);
