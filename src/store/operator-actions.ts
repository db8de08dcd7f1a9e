import type { Pool } from './pool';

/**
 * The audit log of operator actions (migration 0009): one row per operator request, whether it
 * applied, was refused or failed. The API writes it; the console and the CLI read it back.
 */

export type ActionTargetType = 'order' | 'return' | 'dead_letter' | 'dead_letters';
export type ActionOutcome = 'applied' | 'refused' | 'failed';

export interface OperatorAction {
  id: number;
  actor: string;
  role: string;
  action: string;
  targetType: ActionTargetType;
  targetId: string;
  reason: string | null;
  status: number;
  outcome: ActionOutcome;
  detail: unknown;
  actedAt: string;
}

export type NewOperatorAction = Omit<OperatorAction, 'id' | 'actedAt' | 'outcome'>;

export interface OperatorActionFilter {
  targetType?: ActionTargetType | undefined;
  targetId?: string | undefined;
  /** Default 100. */
  limit?: number | undefined;
}

const SQL = {
  insert: `INSERT INTO operator_actions (actor, role, action, target_type, target_id, reason, status, outcome, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  list: `SELECT id, actor, role, action, target_type, target_id, reason, status, outcome, detail, acted_at
    FROM operator_actions
    WHERE ($1::text IS NULL OR target_type = $1) AND ($2::text IS NULL OR target_id = $2)
    ORDER BY id DESC LIMIT $3`,
} as const;

/** What an HTTP status says of an action: applied (2xx), refused (4xx) or failed (5xx). */
export const outcomeOfStatus = (status: number): ActionOutcome =>
  status < 400 ? 'applied' : status < 500 ? 'refused' : 'failed';

export async function recordOperatorAction(db: Pool, action: NewOperatorAction): Promise<void> {
  await db.query(SQL.insert, [
    action.actor,
    action.role,
    action.action,
    action.targetType,
    action.targetId,
    action.reason,
    action.status,
    outcomeOfStatus(action.status),
    action.detail === undefined ? null : JSON.stringify(action.detail),
  ]);
}

interface Row {
  id: string;
  actor: string;
  role: string;
  action: string;
  target_type: ActionTargetType;
  target_id: string;
  reason: string | null;
  status: number;
  outcome: ActionOutcome;
  detail: unknown;
  acted_at: Date;
}

/** Newest first. */
export async function listOperatorActions(db: Pool, filter: OperatorActionFilter = {}): Promise<OperatorAction[]> {
  const { rows } = await db.query<Row>(SQL.list, [
    filter.targetType ?? null,
    filter.targetId ?? null,
    filter.limit ?? 100,
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    actor: r.actor,
    role: r.role,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    reason: r.reason,
    status: r.status,
    outcome: r.outcome,
    detail: r.detail,
    actedAt: r.acted_at.toISOString(),
  }));
}
