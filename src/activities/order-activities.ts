import { OutOfStockError, UnknownProductError } from '../domain/errors';
import {
  decide,
  type OrderCommand,
  type OrderEvent,
  type OrderLine,
  type OrderState,
  type PricedLine,
  type QuotedLine,
  type ShippingAddress,
} from '../domain/order';
import { CURRENCY } from '../events/catalog';
import type { Carrier } from '../ports/carrier';
import type { PaymentGateway } from '../ports/payment-gateway';
import type { Pool, Tx } from '../store/pool';
import { beforeExternalCall as beforeAggregateCall } from './aggregate-command';
import { orderDecider, runOrderCommand, type OrderCommandInput, type Traced } from './order-command';

export interface OrderActivityDeps {
  pool: Pool;
  paymentGateway: PaymentGateway;
  carrier: Carrier;
}

const SQL = {
  insertOrder: `INSERT INTO orders (order_id, customer_id) VALUES ($1, $2)`,
  takeStock: `UPDATE products SET stock = stock - $2 WHERE sku = $1 AND stock >= $2 RETURNING price_cents`,
  productExists: `SELECT 1 FROM products WHERE sku = $1`,
  prices: `SELECT sku, price_cents FROM products WHERE sku = ANY($1::text[])`,
  reserve: `INSERT INTO reservations (order_id, sku, quantity, status) VALUES ($1, $2, $3, 'RESERVED')`,
  release: `UPDATE reservations SET status = 'RELEASED', updated_at = now()
    WHERE order_id = $1 AND status = 'RESERVED' RETURNING sku, quantity`,
  returnStock: `UPDATE products SET stock = stock + $2 WHERE sku = $1`,
  insertPayment: `INSERT INTO payments (order_id, authorization_id, amount_cents, status) VALUES ($1, $2, $3, 'AUTHORIZED')`,
  setPaymentStatus: `UPDATE payments SET status = $2, updated_at = now() WHERE order_id = $1`,
  insertShipment: `INSERT INTO shipments (order_id, tracking_id, status) VALUES ($1, $2, 'SCHEDULED')`,
  setShipmentStatus: `UPDATE shipments SET status = $2, updated_at = now() WHERE order_id = $1`,
} as const;

/** Merges duplicate SKUs and sorts lines so concurrent reservations lock rows in one order (no deadlocks). */
function normaliseLines(items: OrderLine[]): OrderLine[] {
  const bySku = new Map<string, number>();
  for (const { sku, quantity } of items) bySku.set(sku, (bySku.get(sku) ?? 0) + quantity);
  return [...bySku.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([sku, quantity]) => ({ sku, quantity }));
}

/** The catalog price of each line when the order is placed (null for SKUs it does not list). */
async function quote(tx: Tx, items: OrderLine[]): Promise<QuotedLine[]> {
  const { rows } = await tx.query<{ sku: string; price_cents: number }>(SQL.prices, [items.map((i) => i.sku)]);
  const prices = new Map(rows.map((r) => [r.sku, r.price_cents]));
  return items.map(({ sku, quantity }) => ({ sku, quantity, unitPriceCents: prices.get(sku) ?? null }));
}

/** Takes stock for every line, charging the quoted price where there is one. */
async function takeStock(tx: Tx, orderId: string, items: QuotedLine[]): Promise<PricedLine[]> {
  const quoted = new Map(items.map((i) => [i.sku, i.unitPriceCents]));
  const lines: PricedLine[] = [];
  for (const { sku, quantity } of normaliseLines(items)) {
    const taken = await tx.query<{ price_cents: number }>(SQL.takeStock, [sku, quantity]);
    if (taken.rowCount === 0) {
      const exists = (await tx.query(SQL.productExists, [sku])).rowCount === 1;
      if (!exists) throw new UnknownProductError(`Unknown product ${sku}`, { sku });
      throw new OutOfStockError(`Not enough stock of ${sku} for ${quantity}`, { sku, quantity });
    }
    await tx.query(SQL.reserve, [orderId, sku, quantity]);
    lines.push({ sku, quantity, unitPriceCents: quoted.get(sku) ?? taken.rows[0]!.price_cents });
  }
  return lines;
}

/** The stored result if the command ran; else the order's state after `check` (see `beforeExternalCall`). */
const beforeExternalCall = <R>(pool: Pool, input: OrderCommandInput, check: (state: OrderState) => void) =>
  beforeAggregateCall<OrderState, OrderEvent, OrderCommand, R>(
    pool,
    orderDecider,
    input.orderId,
    input.commandId,
    check,
  );

/**
 * The shape of an undo that releases something held outside (payment gateway, carrier):
 * once per command, release it only while the order still holds it, then record the
 * compensating event (if the decider appends one) and the domain-table status together.
 */
async function undoExternally<K extends string>(
  pool: Pool,
  input: OrderCommandInput,
  undo: {
    command: Extract<OrderCommand, { type: 'voidPayment' | 'cancelShipment' | 'refundPayment' }>;
    holds: (state: OrderState) => boolean;
    release: (state: OrderState) => Promise<unknown>;
    /** The domain-table update recording the release (`$1` is the order id). */
    record: { sql: string; status: string };
    /** Name of the boolean in the activity's result. */
    resultKey: K;
  },
): Promise<Traced & Record<K, boolean>> {
  const { done, state } = await beforeExternalCall<Traced & Record<K, boolean>>(pool, input, () => undefined);
  if (done) return done;
  if (undo.holds(state)) await undo.release(state);
  return runOrderCommand(pool, input, () => ({
    command: undo.command,
    apply: async (tx, events) => {
      if (events.length) await tx.query(undo.record.sql, [input.orderId, undo.record.status]);
    },
    result: (events) => ({ [undo.resultKey]: events.length > 0 }) as Record<K, boolean>,
  }));
}

export function createOrderActivities({ pool, paymentGateway, carrier }: OrderActivityDeps) {
  return {
    async createOrder(
      input: OrderCommandInput & { customerId: string; items: OrderLine[]; shippingAddress: ShippingAddress },
    ): Promise<Traced & { orderId: string }> {
      return runOrderCommand(pool, input, async (_state, tx) => ({
        command: {
          type: 'create',
          orderId: input.orderId,
          customerId: input.customerId,
          items: await quote(tx, input.items),
          currency: CURRENCY,
          shippingAddress: input.shippingAddress,
        },
        apply: async (tx) => {
          await tx.query(SQL.insertOrder, [input.orderId, input.customerId]);
        },
        result: () => ({ orderId: input.orderId }),
      }));
    },

    async reserveInventory(input: OrderCommandInput): Promise<Traced & { lines: PricedLine[]; totalCents: number }> {
      return runOrderCommand(pool, input, async (state, tx) => {
        // Validate before touching stock; the stock change and the event commit together.
        decide({ type: 'reserveInventory', lines: [], totalCents: 0 }, state);
        const lines = await takeStock(tx, input.orderId, state.items);
        const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
        return { command: { type: 'reserveInventory', lines, totalCents }, result: () => ({ lines, totalCents }) };
      });
    },

    async releaseInventory(input: OrderCommandInput): Promise<Traced & { released: boolean }> {
      return runOrderCommand(pool, input, () => ({
        command: { type: 'releaseInventory' },
        apply: async (tx, events) => {
          if (events.length === 0) return; // nothing reserved: nothing to undo
          const released = await tx.query<{ sku: string; quantity: number }>(SQL.release, [input.orderId]);
          for (const r of released.rows) await tx.query(SQL.returnStock, [r.sku, r.quantity]);
        },
        result: (events) => ({ released: events.length > 0 }),
      }));
    },

    async authorizePayment(
      input: OrderCommandInput & { paymentToken: string },
    ): Promise<Traced & { authorizationId: string; amountCents: number }> {
      const { done, state } = await beforeExternalCall<Traced & { authorizationId: string; amountCents: number }>(
        pool,
        input,
        (s) => decide({ type: 'authorizePayment', authorizationId: '', amountCents: 0 }, s),
      );
      if (done) return done;
      const amountCents = state.totalCents;
      const { authorizationId } = await paymentGateway.authorize({
        idempotencyKey: input.commandId,
        token: input.paymentToken,
        amountCents,
      });
      return runOrderCommand(pool, input, () => ({
        command: { type: 'authorizePayment', authorizationId, amountCents },
        apply: async (tx) => {
          await tx.query(SQL.insertPayment, [input.orderId, authorizationId, amountCents]);
        },
        result: () => ({ authorizationId, amountCents }),
      }));
    },

    async voidPayment(input: OrderCommandInput): Promise<Traced & { voided: boolean }> {
      return undoExternally(pool, input, {
        command: { type: 'voidPayment' },
        holds: (s) => s.payment === 'AUTHORIZED',
        release: (s) => paymentGateway.void(s.authorizationId!),
        record: { sql: SQL.setPaymentStatus, status: 'VOIDED' },
        resultKey: 'voided',
      });
    },

    async requestApproval(
      input: OrderCommandInput & { thresholdCents: number },
    ): Promise<Traced & { requested: boolean }> {
      return runOrderCommand(pool, input, () => ({
        command: { type: 'requestApproval', thresholdCents: input.thresholdCents },
        result: (events) => ({ requested: events.length > 0 }),
      }));
    },

    async approveOrder(
      input: OrderCommandInput & { decidedBy?: string | null },
    ): Promise<Traced & { approved: boolean }> {
      return runOrderCommand(pool, input, () => ({
        command: { type: 'approve', decidedBy: input.decidedBy ?? null },
        result: () => ({ approved: true }),
      }));
    },

    async scheduleShipment(input: OrderCommandInput): Promise<Traced & { trackingId: string }> {
      const { done, state } = await beforeExternalCall<Traced & { trackingId: string }>(pool, input, (s) =>
        decide({ type: 'scheduleShipment', trackingId: '' }, s),
      );
      if (done) return done;
      const { trackingId } = await carrier.schedule({
        idempotencyKey: input.commandId,
        orderId: input.orderId,
        address: state.shippingAddress!,
      });
      return runOrderCommand(pool, input, () => ({
        command: { type: 'scheduleShipment', trackingId },
        apply: async (tx) => {
          await tx.query(SQL.insertShipment, [input.orderId, trackingId]);
        },
        result: () => ({ trackingId }),
      }));
    },

    async cancelShipment(input: OrderCommandInput): Promise<Traced & { cancelled: boolean }> {
      return undoExternally(pool, input, {
        command: { type: 'cancelShipment' },
        holds: (s) => s.shipment === 'SCHEDULED',
        release: (s) => carrier.cancel(s.trackingId!),
        record: { sql: SQL.setShipmentStatus, status: 'CANCELLED' },
        resultKey: 'cancelled',
      });
    },

    async capturePayment(input: OrderCommandInput): Promise<Traced & { amountCents: number }> {
      const { done, state } = await beforeExternalCall<Traced & { amountCents: number }>(pool, input, (s) =>
        decide({ type: 'capturePayment' }, s),
      );
      if (done) return done;
      await paymentGateway.capture(state.authorizationId!);
      return runOrderCommand(pool, input, () => ({
        command: { type: 'capturePayment' },
        apply: async (tx) => {
          await tx.query(SQL.setPaymentStatus, [input.orderId, 'CAPTURED']);
        },
        result: (_events, s) => ({ amountCents: s.paymentAmountCents }),
      }));
    },

    async refundPayment(input: OrderCommandInput): Promise<Traced & { refunded: boolean }> {
      return undoExternally(pool, input, {
        command: { type: 'refundPayment' },
        holds: (s) => s.payment === 'CAPTURED',
        release: (s) => paymentGateway.refund(s.authorizationId!),
        record: { sql: SQL.setPaymentStatus, status: 'REFUNDED' },
        resultKey: 'refunded',
      });
    },

    async confirmOrder(input: OrderCommandInput): Promise<Traced & { confirmed: boolean }> {
      return runOrderCommand(pool, input, () => ({
        command: { type: 'confirm' },
        result: () => ({ confirmed: true }),
      }));
    },

    async cancelOrder(
      input: OrderCommandInput & {
        reason: string;
        failedStep: string | null;
        manuallyResolved?: string[];
        requestedBy?: string | null;
        /** Lets a cancel of an order never created record order.placement_failed (absent before r4). */
        customerId?: string;
      },
    ): Promise<Traced & { cancelled: boolean }> {
      // Touches no domain table: a never-created order has no `orders` row, and gets none.
      return runOrderCommand(pool, input, () => ({
        command: {
          type: 'cancel',
          reason: input.reason,
          failedStep: input.failedStep,
          manuallyResolved: input.manuallyResolved,
          requestedBy: input.requestedBy ?? null,
          orderId: input.orderId,
          customerId: input.customerId,
        },
        result: (events) => ({ cancelled: events.length > 0 }),
      }));
    },
  };
}
