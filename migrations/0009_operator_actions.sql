-- The audit log of operator actions taken through the API (the console and the CLI are its
-- clients): who acted, with which role, on what, why, and how it went. Written for every
-- operator route, whether the action applied, was refused (409) or failed.
CREATE TABLE operator_actions (
  id          bigserial   PRIMARY KEY,
  actor       text        NOT NULL,
  role        text        NOT NULL,
  action      text        NOT NULL,
  -- What was acted on: an order, a return, a dead letter, or a filter of dead letters.
  target_type text        NOT NULL CHECK (target_type IN ('order', 'return', 'dead_letter', 'dead_letters')),
  target_id   text        NOT NULL,
  reason      text,
  -- HTTP status of the answer and its outcome: applied, refused (4xx) or failed (5xx).
  status      integer     NOT NULL,
  outcome     text        NOT NULL CHECK (outcome IN ('applied', 'refused', 'failed')),
  detail      jsonb,
  acted_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX operator_actions_target ON operator_actions (target_type, target_id, id);
CREATE INDEX operator_actions_recent ON operator_actions (id DESC);
