import { randomUUID } from 'node:crypto';
import { PaymentDeclinedError, TransientError } from '../../domain/errors';
import type { PaymentGateway } from '../payment-gateway';
import type { Pool } from '../../store/pool';

/** Test tokens understood by the simulator (DESIGN.md §4). Any other token is approved. */
export const PAYMENT_TOKENS = {
  approved: 'tok_visa',
  declined: 'tok_chargeDeclined',
  processingError: 'tok_processingError',
} as const;

export interface SimulatedPaymentGatewayOptions {
  /** Where the simulator keeps its books (schema `simulators`, migrations/simulators/). */
  pool: Pool;
  /** How many attempts `tok_processingError` fails before it succeeds. Default 2. */
  transientFailures?: number;
}

const SQL = {
  countAttempt: `INSERT INTO simulators.gateway_attempts AS a (idempotency_key, attempts) VALUES ($1, 1)
    ON CONFLICT (idempotency_key) DO UPDATE SET attempts = a.attempts + 1
    RETURNING attempts`,
  authorize: `INSERT INTO simulators.gateway_authorizations (authorization_id, idempotency_key, token, amount_cents, status)
    VALUES ($1, $2, $3, $4, 'AUTHORIZED') ON CONFLICT (idempotency_key) DO NOTHING`,
  byKey: `SELECT authorization_id FROM simulators.gateway_authorizations WHERE idempotency_key = $1`,
  transition: `UPDATE simulators.gateway_authorizations SET status = $3
    WHERE authorization_id = $1 AND status = $2 RETURNING authorization_id`,
  status: `SELECT status FROM simulators.gateway_authorizations WHERE authorization_id = $1`,
} as const;

/** A gateway that behaves like a real one for the documented test tokens, with its own persistent books. */
export function createSimulatedPaymentGateway(options: SimulatedPaymentGatewayOptions): PaymentGateway {
  const { pool } = options;
  const transientFailures = options.transientFailures ?? 2;

  async function status(authorizationId: string): Promise<string | undefined> {
    const { rows } = await pool.query<{ status: string }>(SQL.status, [authorizationId]);
    return rows[0]?.status;
  }

  /** Moves an authorization from `from` to `to`; true when this call did it. */
  async function transition(authorizationId: string, from: string, to: string): Promise<boolean> {
    const { rowCount } = await pool.query(SQL.transition, [authorizationId, from, to]);
    return rowCount === 1;
  }

  return {
    async authorize({ idempotencyKey, token, amountCents }) {
      if (token === PAYMENT_TOKENS.declined) {
        throw new PaymentDeclinedError('The card was declined', { token });
      }
      if (token === PAYMENT_TOKENS.processingError) {
        const { rows } = await pool.query<{ attempts: number }>(SQL.countAttempt, [idempotencyKey]);
        if (rows[0]!.attempts <= transientFailures) {
          throw new TransientError(`Gateway processing error (attempt ${rows[0]!.attempts}), try again`);
        }
      }
      await pool.query(SQL.authorize, [`auth_${randomUUID()}`, idempotencyKey, token, amountCents]);
      const { rows } = await pool.query<{ authorization_id: string }>(SQL.byKey, [idempotencyKey]);
      return { authorizationId: rows[0]!.authorization_id };
    },
    async capture(authorizationId) {
      if (await transition(authorizationId, 'AUTHORIZED', 'CAPTURED')) return;
      const current = await status(authorizationId);
      if (current !== 'CAPTURED')
        throw new Error(`Cannot capture authorization ${authorizationId} (${current ?? 'unknown'})`);
    },
    async void(authorizationId) {
      if (await transition(authorizationId, 'AUTHORIZED', 'VOIDED')) return { voided: true };
      const current = await status(authorizationId);
      if (current === 'CAPTURED') throw new Error(`Authorization ${authorizationId} is captured: refund it instead`);
      return { voided: false };
    },
    async refund(authorizationId) {
      return { refunded: await transition(authorizationId, 'CAPTURED', 'REFUNDED') };
    },
  };
}
