-- Event delivery: checkpoints of committed-order readers, consumer inboxes, dead letters,
-- and the wake-up that tells readers new events were committed.

-- One row per reader of the log (the relay, or a consumer partition on the Postgres-native
-- transport). The position is the pair readers order by; it only moves forward, through a
-- compare-and-set on the previous pair.
CREATE TABLE subscription_checkpoints (
  subscriber      text        PRIMARY KEY,
  transaction_id  xid8        NOT NULL DEFAULT '0'::xid8,
  global_position bigint      NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Events a consumer has taken effect for, written in the same transaction as the effects:
-- a redelivered event finds its row and has no second effect.
CREATE TABLE inbox (
  consumer     text        NOT NULL,
  event_id     uuid        NOT NULL,
  handled_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Events a consumer could not handle (status 'open'), and later events of the same stream
-- held back behind them to keep the per-aggregate order (status 'parked').
CREATE TABLE dead_letters (
  id               bigserial   PRIMARY KEY,
  consumer         text        NOT NULL,
  event_id         uuid        NOT NULL,
  stream_id        text        NOT NULL,
  global_position  bigint      NOT NULL,
  event_type       text        NOT NULL,
  schema_version   integer     NOT NULL,
  -- The event as delivered (the stored row's fields), so a replay needs neither broker nor log.
  event            jsonb       NOT NULL,
  status           text        NOT NULL CHECK (status IN ('open', 'parked', 'replayed', 'discarded')),
  reason           text        NOT NULL CHECK (reason IN ('handler_failed', 'malformed', 'unknown_type',
                                                          'unknown_version', 'invalid_payload', 'parked')),
  error            text        NOT NULL,
  stack            text,
  attempts         integer     NOT NULL,
  first_failed_at  timestamptz NOT NULL DEFAULT now(),
  last_failed_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at      timestamptz,
  CONSTRAINT dead_letters_once UNIQUE (consumer, event_id)
);

CREATE INDEX dead_letters_unresolved ON dead_letters (consumer, stream_id, global_position)
  WHERE status IN ('open', 'parked');
CREATE INDEX dead_letters_listing ON dead_letters (status, id);

-- Who did what to a dead letter, and how it went.
CREATE TABLE dead_letter_actions (
  id             bigserial   PRIMARY KEY,
  dead_letter_id bigint      NOT NULL REFERENCES dead_letters (id),
  action         text        NOT NULL CHECK (action IN ('replay', 'discard')),
  actor          text        NOT NULL,
  outcome        text        NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'failed', 'discarded')),
  detail         text,
  acted_at       timestamptz NOT NULL DEFAULT now()
);

-- The notifier's output: what the customer is told, once per event.
CREATE TABLE customer_notifications (
  id           bigserial   PRIMARY KEY,
  event_id     uuid        NOT NULL UNIQUE,
  order_id     uuid        NOT NULL,
  customer_id  text        NOT NULL,
  kind         text        NOT NULL CHECK (kind IN ('order_confirmed', 'order_cancelled', 'approval_needed')),
  message      text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX customer_notifications_order ON customer_notifications (order_id, id);
CREATE INDEX customer_notifications_customer ON customer_notifications (customer_id, id);

-- Wakes readers as soon as events commit (NOTIFY is delivered at commit, never for a
-- rolled-back transaction); polling remains the fallback for a missed notification.
CREATE FUNCTION notify_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('saga_events', '');
  RETURN NULL;
END $$;

CREATE TRIGGER events_appended AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION notify_events_appended();
