import type { Pool } from './pool';
import type { StoredEvent } from './event-store';
import { readEventsWhere } from './event-store';

export interface CommandRecord {
  commandId: string;
  causationId: string | null;
  processedAt: Date;
}

const SQL = {
  commands: `SELECT command_id, causation_id, processed_at FROM processed_commands
    WHERE correlation_id = $1 ORDER BY processed_at, command_id`,
} as const;

/** Commands and events of one correlation chain. */
export async function readCorrelation(
  pool: Pool,
  correlationId: string,
): Promise<{ commands: CommandRecord[]; events: StoredEvent[] }> {
  const [commands, events] = await Promise.all([
    pool.query<{ command_id: string; causation_id: string | null; processed_at: Date }>(SQL.commands, [correlationId]),
    readEventsWhere(pool, `metadata->>'correlationId' = $1`, [correlationId]),
  ]);
  return {
    commands: commands.rows.map((r) => ({
      commandId: r.command_id,
      causationId: r.causation_id,
      processedAt: r.processed_at,
    })),
    events,
  };
}
