import type { OrderState } from '../domain/order';
import type { ReturnStatus } from '../domain/return';
import type { Pool } from '../store/pool';
import {
  ORDER_SUMMARY_TABLE,
  SUMMARY_COLUMNS,
  toSummary,
  type OrderSummary,
  type SummaryPhase,
  type SummaryRow,
} from './order-summary';

/** Reads of the order-summary read model: one order, and keyset-paginated listings. */

const COLUMNS = `${SUMMARY_COLUMNS}, updated_at`;

const SQL = {
  one: `SELECT ${COLUMNS} FROM ${ORDER_SUMMARY_TABLE} WHERE order_id = $1`,
  // Newest first; the cursor is the (created_at, order_id) of the last row of the previous page,
  // so pages stay stable while new orders arrive.
  list: `SELECT ${COLUMNS} FROM ${ORDER_SUMMARY_TABLE}
    WHERE ($1::text IS NULL OR status = $1)
      AND ($2::text IS NULL OR customer_id = $2)
      AND ($3::text IS NULL OR saga_phase = $3)
      AND ($4::timestamptz IS NULL OR created_at > $4)
      AND ($5::timestamptz IS NULL OR (created_at, order_id) < ($5, $6::uuid))
      AND ($8::text IS NULL OR return_status = $8)
    ORDER BY created_at DESC, order_id DESC
    LIMIT $7`,
} as const;

/** What an order shows of its latest return (all null when it has none). */
export interface OrderReturnFields {
  returnId: string | null;
  returnStatus: Exclude<ReturnStatus, 'NONE'> | null;
  /** What the return refunded so far (0 until `return.refunded`). */
  refundedCents: number | null;
}

export interface OrderSummaryWithFreshness extends OrderSummary {
  /** The order's state with its latest return's fields beside it. */
  state: OrderState & OrderReturnFields;
  updatedAt: string;
}

function returnFieldsOf(s: OrderSummary): OrderReturnFields {
  const r = s.latestReturn?.state;
  return r && r.status !== 'NONE'
    ? { returnId: r.returnId, returnStatus: r.status, refundedCents: r.refundedCents }
    : { returnId: null, returnStatus: null, refundedCents: null };
}

type Row = SummaryRow & { updated_at: Date };
function withFreshness(r: Row): OrderSummaryWithFreshness {
  const summary = toSummary(r);
  return { ...summary, state: { ...summary.state, ...returnFieldsOf(summary) }, updatedAt: r.updated_at.toISOString() };
}

export async function getOrderSummary(db: Pool, orderId: string): Promise<OrderSummaryWithFreshness | undefined> {
  const { rows } = await db.query<Row>(SQL.one, [orderId]);
  return rows[0] ? withFreshness(rows[0]) : undefined;
}

export interface OrderListFilter {
  status?: string | undefined;
  customerId?: string | undefined;
  sagaPhase?: SummaryPhase | undefined;
  createdAfter?: string | undefined;
  /** The latest return's status (OPENED … COMPLETED, CANCELLED). */
  returnStatus?: string | undefined;
  /** Opaque, from the previous page's `nextCursor`. */
  cursor?: string | undefined;
  /** Default 20. */
  limit?: number | undefined;
}

/** A cursor that does not decode (tampered or from another API version). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

const encodeCursor = (s: OrderSummary) => Buffer.from(JSON.stringify([s.createdAt, s.orderId])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (
      typeof at === 'string' &&
      !Number.isNaN(Date.parse(at)) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id)
    ) {
      return [at, id];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError('cursor is not one this API issued');
}

export async function listOrderSummaries(
  db: Pool,
  filter: OrderListFilter,
): Promise<{ orders: OrderSummaryWithFreshness[]; nextCursor: string | null }> {
  const limit = filter.limit ?? 20;
  const [afterAt, afterId] = filter.cursor ? decodeCursor(filter.cursor) : [null, null];
  const { rows } = await db.query<Row>(SQL.list, [
    filter.status ?? null,
    filter.customerId ?? null,
    filter.sagaPhase ?? null,
    filter.createdAfter ?? null,
    afterAt,
    afterId,
    limit + 1,
    filter.returnStatus ?? null,
  ]);
  const orders = rows.slice(0, limit).map(withFreshness);
  return { orders, nextCursor: rows.length > limit ? encodeCursor(orders.at(-1)!) : null };
}
