-- Domain state changed by the order saga's activities, always in the same transaction as
-- the events appended to the order's stream.

CREATE TABLE products (
  sku         text    PRIMARY KEY,
  name        text    NOT NULL,
  price_cents integer NOT NULL CHECK (price_cents >= 0),
  stock       integer NOT NULL CHECK (stock >= 0)
);

-- One row per order line held; released rows stay for the audit trail.
CREATE TABLE reservations (
  order_id    uuid        NOT NULL,
  sku         text        NOT NULL REFERENCES products (sku),
  quantity    integer     NOT NULL CHECK (quantity > 0),
  status      text        NOT NULL CHECK (status IN ('RESERVED', 'RELEASED')),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, sku)
);

CREATE TABLE payments (
  order_id       uuid        PRIMARY KEY,
  authorization_id text      NOT NULL,
  amount_cents   integer     NOT NULL CHECK (amount_cents >= 0),
  status         text        NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED')),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shipments (
  order_id     uuid        PRIMARY KEY,
  tracking_id  text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('SCHEDULED', 'CANCELLED')),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The payment gateway simulator's own books (it stands for an external service, so it keeps
-- state outside the activity's transaction, keyed by the idempotency key we send it).
CREATE TABLE sim_gateway_authorizations (
  authorization_id text        PRIMARY KEY,
  idempotency_key  text        NOT NULL UNIQUE,
  token            text        NOT NULL,
  amount_cents     integer     NOT NULL,
  status           text        NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED')),
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Attempts seen per idempotency key, so `tok_processingError` fails a few times and then
-- succeeds even across worker restarts.
CREATE TABLE sim_gateway_attempts (
  idempotency_key text    PRIMARY KEY,
  attempts        integer NOT NULL
);
