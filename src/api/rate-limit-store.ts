import type { Pool } from '../store/pool';

/**
 * The rate limit's counters in PostgreSQL (`api_rate_limits`), so every API replica counts
 * against one budget per caller. A fixed window per caller, opened by its first request and
 * lasting `timeWindow`: one atomic upsert per request counts the hit (or opens a new window
 * when the last one has ended) and answers the count and the time left, computed by the
 * database's clock, so replicas with drifting clocks agree. A @fastify/rate-limit store.
 */

const SQL = {
  hit: `
    INSERT INTO api_rate_limits AS r (key, hits, resets_at)
    VALUES ($1, 1, now() + make_interval(secs => $2::double precision / 1000))
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN r.resets_at <= now() THEN 1 ELSE r.hits + 1 END,
      resets_at = CASE WHEN r.resets_at <= now() THEN EXCLUDED.resets_at ELSE r.resets_at END
    RETURNING hits, GREATEST(0, ceil(extract(epoch FROM resets_at - now()) * 1000))::bigint AS ttl_ms`,
  sweep: `DELETE FROM api_rate_limits WHERE resets_at < now() - make_interval(secs => $1::double precision / 1000)`,
} as const;

type Incr = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** The store class @fastify/rate-limit instantiates (`store` option), bound to a pool. */
export function postgresRateLimitStore(pool: Pool) {
  let lastSweep = 0;
  return class PostgresRateLimitStore {
    /** The window (ms) when incr is given none. */
    readonly window: number;
    /** @fastify/rate-limit passes its options: their `timeWindow` (ms) when incr is given none. */
    constructor(options?: { timeWindow?: unknown }) {
      this.window = typeof options?.timeWindow === 'number' ? options.timeWindow : 60_000;
    }

    incr(key: string, callback: Incr, timeWindow: number = this.window): void {
      pool.query<{ hits: number; ttl_ms: string }>(SQL.hit, [key, timeWindow]).then(
        ({ rows: [row] }) => callback(null, { current: row!.hits, ttl: Number(row!.ttl_ms) }),
        (err: Error) => callback(err),
      );
      // Windows long over are swept now and then (at most once per window per process).
      if (Date.now() - lastSweep > timeWindow) {
        lastSweep = Date.now();
        pool.query(SQL.sweep, [timeWindow]).catch(() => undefined);
      }
    }

    child(options: object): PostgresRateLimitStore {
      const { timeWindow } = options as { timeWindow?: unknown };
      return new PostgresRateLimitStore({ timeWindow: timeWindow ?? this.window });
    }
  };
}
