-- The payment gateway simulator's books, in their own schema so that a production database
-- (migrated without this set) has none of them. The simulator stands for an external service,
-- so it keeps state outside the activity's transaction, keyed by the idempotency key we send it.

CREATE SCHEMA IF NOT EXISTS simulators;

CREATE TABLE simulators.gateway_authorizations (
  authorization_id text        PRIMARY KEY,
  idempotency_key  text        NOT NULL UNIQUE,
  token            text        NOT NULL,
  amount_cents     integer     NOT NULL,
  status           text        NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED')),
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Attempts seen per idempotency key, so `tok_processingError` fails a few times and then
-- succeeds even across worker restarts.
CREATE TABLE simulators.gateway_attempts (
  idempotency_key text    PRIMARY KEY,
  attempts        integer NOT NULL
);

-- A database created before this set kept the books in public.sim_gateway_* (production
-- migration 0002, dropped by 0006): copy them over, so in-flight orders keep their
-- authorizations and attempt counts. This set runs before the production set for that reason.
DO $$
BEGIN
  IF to_regclass('public.sim_gateway_authorizations') IS NOT NULL THEN
    EXECUTE 'INSERT INTO simulators.gateway_authorizations
               (authorization_id, idempotency_key, token, amount_cents, status, created_at)
             SELECT authorization_id, idempotency_key, token, amount_cents, status, created_at
               FROM public.sim_gateway_authorizations';
  END IF;
  IF to_regclass('public.sim_gateway_attempts') IS NOT NULL THEN
    EXECUTE 'INSERT INTO simulators.gateway_attempts (idempotency_key, attempts)
             SELECT idempotency_key, attempts FROM public.sim_gateway_attempts';
  END IF;
END
$$;
