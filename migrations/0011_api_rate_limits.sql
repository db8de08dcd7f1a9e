-- The API's rate limit, shared by every API replica: one row per caller (an API key's name, or
-- a client address), counting its requests in the current window. UNLOGGED: the counters are
-- worth no WAL or replication; after a crash they start again from zero, which only forgives.
CREATE UNLOGGED TABLE api_rate_limits (
  key       text        PRIMARY KEY,
  hits      integer     NOT NULL,
  -- When the current window ends: the first request after it opens the next one.
  resets_at timestamptz NOT NULL
);

CREATE INDEX api_rate_limits_resets_at ON api_rate_limits (resets_at);
