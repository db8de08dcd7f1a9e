import { InvalidTransitionError, ReturnNotAllowedError, UnknownProductError } from '../domain/errors';
import {
  decide,
  returnDecider,
  type ReturnCommand,
  type ReturnEvent,
  type ReturnState,
  type ReturnStatus,
} from '../domain/return';
import type { Carrier } from '../ports/carrier';
import type { PaymentGateway } from '../ports/payment-gateway';
import type { Pool, Tx } from '../store/pool';
import { beforeExternalCall, type Traced } from './aggregate-command';
import { loadOrder } from './order-command';
import { runReturnCommand, type ReturnCommandInput } from './return-command';

/**
 * The activities of the order-returns saga (`returnSaga`). Each is ONE PostgreSQL transaction
 * (processed_commands row + domain-table changes + the return's events), applied once per
 * command id like the order activities; calls to the carrier and the payment gateway happen
 * before that transaction, only while the command is not processed yet. Business refusals are
 * DomainErrors (non-retryable once mapped by `withFailureMapping`); anything else retries.
 */

export interface ReturnActivityDeps {
  pool: Pool;
  paymentGateway: PaymentGateway;
  carrier: Carrier;
}

const SQL = {
  activeReturn: `SELECT return_id FROM returns WHERE order_id = $1 AND status <> 'CANCELLED'`,
  insertReturn: `INSERT INTO returns (return_id, order_id, customer_id, status, amount_cents)
    VALUES ($1, $2, $3, 'OPENED', $4)`,
  setStatus: `UPDATE returns SET status = $2, updated_at = now() WHERE return_id = $1`,
  setPickup: `UPDATE returns SET status = $2, tracking_id = $3, updated_at = now() WHERE return_id = $1`,
  setRefunded: `UPDATE returns SET status = 'REFUNDED', refunded_cents = $2, updated_at = now() WHERE return_id = $1`,
  // The order's payment row mirrors the gateway: its captured authorization is now refunded.
  paymentRefunded: `UPDATE payments SET status = 'REFUNDED', updated_at = now() WHERE order_id = $1 AND status = 'CAPTURED'`,
  restock: `UPDATE products SET stock = stock + $2 WHERE sku = $1`,
} as const;

/** The partial unique index of migration 0007: one return per order unless cancelled. */
const ONE_RETURN_PER_ORDER = 'returns_one_per_order';

const setStatus = (tx: Tx, returnId: string, status: Exclude<ReturnStatus, 'NONE'>) =>
  tx.query(SQL.setStatus, [returnId, status]);

export function createReturnActivities({ pool, paymentGateway, carrier }: ReturnActivityDeps) {
  /** The stored result if the command ran; else the return's state, refusing before any outside call. */
  const before = <R>(input: ReturnCommandInput, command: ReturnCommand) =>
    beforeExternalCall<ReturnState, ReturnEvent, ReturnCommand, R>(
      pool,
      returnDecider,
      input.returnId,
      input.commandId,
      (state) => void decide(command, state),
    );

  return {
    /**
     * Opens a return of the whole order (every line, the captured amount). Refused with
     * `ReturnNotAllowed` when the order does not exist, is not confirmed, belongs to another
     * customer or already has a return that is not cancelled.
     */
    async openReturn(
      input: ReturnCommandInput & { orderId: string; customerId: string; reason: string },
    ): Promise<Traced & { amountCents: number }> {
      return runReturnCommand(pool, input, async (_state, tx) => {
        const { state: order } = await loadOrder(tx, input.orderId);
        const active =
          order.orderId === null
            ? undefined
            : (await tx.query<{ return_id: string }>(SQL.activeReturn, [input.orderId])).rows[0];
        return {
          command: {
            type: 'open',
            returnId: input.returnId,
            orderId: input.orderId,
            customerId: input.customerId,
            reason: input.reason,
            order,
            activeReturnId: active?.return_id ?? null,
          },
          apply: async (tx, _events, _state) => {
            try {
              await tx.query(SQL.insertReturn, [
                input.returnId,
                input.orderId,
                input.customerId,
                order.paymentAmountCents,
              ]);
            } catch (err) {
              // Another return of the order committed meanwhile: the index is the last word.
              if ((err as { constraint?: string }).constraint === ONE_RETURN_PER_ORDER) {
                throw new ReturnNotAllowedError(
                  `Cannot open a return for order ${input.orderId}: the order already has a return`,
                  { rule: 'RETURN_EXISTS', orderId: input.orderId },
                );
              }
              throw err;
            }
          },
          result: () => ({ amountCents: order.paymentAmountCents }),
        };
      });
    },

    /** Books the carrier to collect the goods at the order's shipping address. */
    async schedulePickup(input: ReturnCommandInput): Promise<Traced & { trackingId: string }> {
      const { done, state } = await before<Traced & { trackingId: string }>(input, {
        type: 'schedulePickup',
        trackingId: '',
      });
      if (done) return done;
      const { state: order } = await loadOrder(pool, state.orderId!);
      const { trackingId } = await carrier.schedule({
        idempotencyKey: input.commandId,
        orderId: state.orderId!,
        address: order.shippingAddress!,
      });
      return runReturnCommand(pool, input, () => ({
        command: { type: 'schedulePickup', trackingId },
        apply: async (tx) => {
          await tx.query(SQL.setPickup, [input.returnId, 'PICKUP_SCHEDULED', trackingId]);
        },
        result: () => ({ trackingId }),
      }));
    },

    /** Compensates `schedulePickup`: cancels a scheduled pickup; nothing to undo is no error. */
    async cancelPickup(input: ReturnCommandInput): Promise<Traced & { cancelled: boolean }> {
      const { done, state } = await before<Traced & { cancelled: boolean }>(input, { type: 'cancelPickup' });
      if (done) return done;
      if (decide({ type: 'cancelPickup' }, state).length > 0) await carrier.cancel(state.trackingId!);
      return runReturnCommand(pool, input, () => ({
        command: { type: 'cancelPickup' },
        apply: async (tx, events) => {
          if (events.length) await setStatus(tx, input.returnId, 'OPENED');
        },
        result: (events) => ({ cancelled: events.length > 0 }),
      }));
    },

    /** The warehouse has the goods (`receivedBy`: who took them in, when known). */
    async receiveGoods(input: ReturnCommandInput & { receivedBy: string | null }): Promise<Traced> {
      return runReturnCommand(pool, input, () => ({
        command: { type: 'receiveGoods', receivedBy: input.receivedBy },
        apply: async (tx) => {
          await setStatus(tx, input.returnId, 'GOODS_RECEIVED');
        },
        result: () => ({}),
      }));
    },

    /** Refunds the order's captured payment at the gateway (the whole amount). */
    async refundReturn(input: ReturnCommandInput): Promise<Traced & { amountCents: number }> {
      const { done, state } = await before<Traced & { amountCents: number }>(input, {
        type: 'refund',
        authorizationId: '',
      });
      if (done) return done;
      const { state: order } = await loadOrder(pool, state.orderId!);
      const authorizationId = order.authorizationId;
      if (!authorizationId) {
        throw new InvalidTransitionError(`Cannot refund return ${input.returnId}: its order has no payment`, {
          command: 'refund',
          status: state.status,
        });
      }
      // `refunded: false` means the gateway holds nothing captured any more: after a crash
      // between this call and our commit, that is our own earlier refund, recorded now.
      await paymentGateway.refund(authorizationId);
      return runReturnCommand(pool, input, () => ({
        command: { type: 'refund', authorizationId },
        apply: async (tx, _events, s) => {
          await tx.query(SQL.setRefunded, [input.returnId, s.amountCents]);
          await tx.query(SQL.paymentRefunded, [s.orderId]);
        },
        result: (_events, s) => ({ amountCents: s.amountCents }),
      }));
    },

    /** Puts every returned line back in stock, in the same transaction as `return.restocked`. */
    async restockReturn(input: ReturnCommandInput): Promise<Traced> {
      return runReturnCommand(pool, input, () => ({
        command: { type: 'restock' },
        apply: async (tx, _events, s) => {
          // In SKU order, like reservations, so concurrent stock changes lock rows in one order.
          for (const { sku, quantity } of [...s.lines].sort((a, b) => a.sku.localeCompare(b.sku))) {
            const updated = await tx.query(SQL.restock, [sku, quantity]);
            if (updated.rowCount === 0) throw new UnknownProductError(`Unknown product ${sku}`, { sku });
          }
          await setStatus(tx, input.returnId, 'RESTOCKED');
        },
        result: () => ({}),
      }));
    },

    async completeReturn(input: ReturnCommandInput): Promise<Traced> {
      return runReturnCommand(pool, input, () => ({
        command: { type: 'complete' },
        apply: async (tx) => {
          await setStatus(tx, input.returnId, 'COMPLETED');
        },
        result: () => ({}),
      }));
    },

    /**
     * Ends a return that will not complete (after its compensations, or a customer cancel).
     * A return never opened gets `return.not_opened` for the order and customer the input names
     * (without them, as before r4, nothing). Appends nothing when it is already cancelled or
     * completed; refused while the pickup is still scheduled or once the goods are received.
     */
    async cancelReturn(
      input: ReturnCommandInput & {
        reason: string;
        failedStep: string | null;
        requestedBy: string | null;
        /** Let a cancel of a return never opened record return.not_opened (absent before r4). */
        orderId?: string;
        customerId?: string;
      },
    ): Promise<Traced & { cancelled: boolean }> {
      return runReturnCommand(pool, input, () => ({
        command: {
          type: 'cancel',
          reason: input.reason,
          failedStep: input.failedStep,
          requestedBy: input.requestedBy,
          returnId: input.returnId,
          orderId: input.orderId,
          customerId: input.customerId,
        },
        apply: async (tx, events) => {
          // A return never opened has no `returns` row, and gets none: that table holds opened returns.
          if (events.some((e) => e.type === 'return.cancelled')) await setStatus(tx, input.returnId, 'CANCELLED');
        },
        result: (events) => ({ cancelled: events.length > 0 }),
      }));
    },
  };
}
