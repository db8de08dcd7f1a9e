-- The event store is also the outbox: every domain event is appended here in the same
-- transaction as the state change that caused it. Readers order by (transaction_id,
-- global_position) and only read below the oldest in-flight transaction, so a
-- late-committing transaction is never skipped.
CREATE TABLE events (
  global_position bigserial PRIMARY KEY,
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  event_id        uuid        NOT NULL UNIQUE,
  stream_id       text        NOT NULL,
  stream_version  integer     NOT NULL CHECK (stream_version > 0),
  event_type      text        NOT NULL,
  schema_version  integer     NOT NULL DEFAULT 1 CHECK (schema_version > 0),
  payload         jsonb       NOT NULL,
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  occurred_at     timestamptz NOT NULL DEFAULT now(),
  -- optimistic concurrency: two writers cannot both append version N of a stream
  CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_transaction_order ON events (transaction_id, global_position);
CREATE INDEX events_correlation ON events ((metadata->>'correlationId'));

-- Deduplicates activity executions: the command id is deterministic
-- (<workflowId>/<step>), so a retry or replay returns the stored result.
CREATE TABLE processed_commands (
  command_id   text        PRIMARY KEY,
  result       jsonb       NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Orders known to the system (identity and ownership); the order's lifecycle state is
-- the fold of its event stream.
CREATE TABLE orders (
  order_id    uuid        PRIMARY KEY,
  customer_id text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
