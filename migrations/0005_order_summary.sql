-- The order-summary read model (CQRS query side), kept by the `order-summary` projector and
-- rebuildable from the log (`saga projections rebuild order-summary`). `state` is the Order
-- aggregate's own fold; the other columns are what listings filter and sort on.
CREATE TABLE order_summary (
  order_id            uuid        PRIMARY KEY,
  customer_id         text        NOT NULL,
  status              text        NOT NULL,
  -- RUNNING, COMPENSATING, COMPENSATED or COMPLETED, as the events tell it (a stuck
  -- compensation is live workflow state: GET /orders/:id/saga and the Temporal UI show it).
  saga_phase          text        NOT NULL,
  state               jsonb       NOT NULL,
  -- A compact history: one entry per event (type, stream version, time).
  timeline            jsonb       NOT NULL,
  last_event_id       uuid        NOT NULL,
  last_stream_version integer     NOT NULL,
  last_position       bigint      NOT NULL,
  last_event_at       timestamptz NOT NULL,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination: newest first, ties broken by id, with and without the common filters.
CREATE INDEX order_summary_by_created ON order_summary (created_at DESC, order_id DESC);
CREATE INDEX order_summary_by_status ON order_summary (status, created_at DESC, order_id DESC);
CREATE INDEX order_summary_by_phase ON order_summary (saga_phase, created_at DESC, order_id DESC);
CREATE INDEX order_summary_by_customer ON order_summary (customer_id, created_at DESC, order_id DESC);
