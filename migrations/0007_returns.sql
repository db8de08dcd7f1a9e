-- Order returns (the returnSaga): a customer sends a whole confirmed order back. The Return
-- aggregate is the fold of its stream `return-<returnId>`; this table holds what the
-- database itself must enforce, changed in the same transaction as the return's events: an
-- order has at most one return that is not cancelled.
CREATE TABLE returns (
  return_id      uuid        PRIMARY KEY,
  order_id       uuid        NOT NULL REFERENCES orders (order_id),
  customer_id    text        NOT NULL,
  status         text        NOT NULL CHECK (status IN ('OPENED', 'PICKUP_SCHEDULED', 'GOODS_RECEIVED', 'REFUNDED',
                                                        'RESTOCKED', 'COMPLETED', 'CANCELLED')),
  amount_cents   integer     NOT NULL CHECK (amount_cents >= 0),
  tracking_id    text,
  refunded_cents integer     NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One return per order unless it was cancelled (a completed return counts: the order is returned).
CREATE UNIQUE INDEX returns_one_per_order ON returns (order_id) WHERE status <> 'CANCELLED';

-- The order's (latest) return in the order-summary read model: the Return aggregate's own fold
-- as `return_state`, its id and status as columns, and what the projector applied last of it
-- (the return stream's version, and the log position of its `return.opened`, which orders the
-- returns of one order) so applying stays idempotent.
ALTER TABLE order_summary
  ADD COLUMN return_id             uuid,
  ADD COLUMN return_status         text,
  ADD COLUMN return_state          jsonb,
  ADD COLUMN return_stream_version integer NOT NULL DEFAULT 0,
  ADD COLUMN return_opened_position bigint NOT NULL DEFAULT 0;
