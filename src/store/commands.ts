import { withTransaction, type Pool, type Tx } from './pool';

const SQL = {
  // Claiming first makes a concurrent duplicate wait on the primary key until the first
  // attempt commits (then it sees the stored result) or rolls back (then it proceeds).
  claim: `INSERT INTO processed_commands (command_id, result, correlation_id, causation_id) VALUES ($1, 'null'::jsonb, $2, $3)
    ON CONFLICT (command_id) DO NOTHING RETURNING command_id`,
  result: `SELECT result FROM processed_commands WHERE command_id = $1`,
  complete: `UPDATE processed_commands SET result = $2::jsonb WHERE command_id = $1`,
} as const;

/**
 * Runs `handler` at most once per `commandId`, in one transaction with its effects.
 * A retry, a replay, or a second worker racing on the same command gets the first result
 * and writes nothing. The result must be JSON-serialisable.
 */
export async function executeOnce<T>(
  pool: Pool,
  commandId: string,
  handler: (tx: Tx) => Promise<T>,
  trace: { correlationId?: string; causationId?: string } = {},
): Promise<T> {
  return withTransaction(pool, async (tx) => {
    const claimed = await tx.query({ name: 'commands-claim', text: SQL.claim }, [
      commandId,
      trace.correlationId ?? null,
      trace.causationId ?? null,
    ]);
    if (claimed.rowCount === 0) {
      const { rows } = await tx.query<{ result: T }>(SQL.result, [commandId]);
      return rows[0]!.result;
    }
    const result = await handler(tx);
    await tx.query({ name: 'commands-complete', text: SQL.complete }, [commandId, JSON.stringify(result ?? null)]);
    return result;
  });
}

/** The stored result of a command already processed, or undefined. */
export async function findProcessedCommand<T>(db: Pool | Tx, commandId: string): Promise<T | undefined> {
  const { rows } = await db.query<{ result: T }>(SQL.result, [commandId]);
  return rows.length ? rows[0]!.result : undefined;
}
