import pg from 'pg';

export type Pool = pg.Pool;
export type Tx = pg.PoolClient;

// int8 (bigint) columns such as global_position come back as strings by default;
// positions stay far below 2^53, so numbers are safe and easier to use.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export interface PoolOptions {
  /** Maximum connections in the pool. Default 10. */
  max?: number;
  /** Name shown in pg_stat_activity. Default 'saga'. */
  applicationName?: string;
  /**
   * How long a transaction may sit idle between statements before PostgreSQL ends its session
   * (`idle_in_transaction_session_timeout`; 0: never). An open transaction holds back every
   * commit-order reader on the server (docs/delivery.md), so a process that freezes in the
   * middle of one must not hold it for longer than this. Default 10 s.
   */
  idleInTransactionTimeoutMs?: number;
}

export function createPool(connectionString: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'saga',
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** Work to do once a transaction on a connection committed (e.g. wake the event readers). */
const commitHooks = new WeakMap<Tx, ((pool: Pool) => void)[]>();

/** Runs `hook` after the transaction `tx` is in commits (via `withTransaction`); dropped on rollback. */
export function onCommit(tx: Tx, hook: (pool: Pool) => void): void {
  const hooks = commitHooks.get(tx) ?? [];
  if (!hooks.includes(hook)) hooks.push(hook);
  commitHooks.set(tx, hooks);
}

function afterCommit(pool: Pool, tx: Tx): void {
  const hooks = commitHooks.get(tx);
  commitHooks.delete(tx);
  for (const hook of hooks ?? []) hook(pool);
}

/** Runs `fn` in one transaction: COMMIT when it resolves (then the `onCommit` hooks), ROLLBACK when it throws. */
export async function withTransaction<T>(pool: Pool, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // pg-pool takes its error listener off a checked-out client: a server that goes away between
  // two statements would then crash the process instead of failing this transaction.
  const ignore = () => undefined;
  client.on('error', ignore);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    afterCommit(pool, client);
    return result;
  } catch (err) {
    commitHooks.delete(client);
    // A connection that cannot even roll back is dropped, not handed to the next caller.
    broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    throw err;
  } finally {
    client.removeListener('error', ignore);
    client.release(broken);
  }
}
