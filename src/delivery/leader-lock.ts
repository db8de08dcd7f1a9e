import pg from 'pg';
import type { Logger } from '../logger';

/**
 * A holder a contender found silent for longer than the takeover allows, or could not watch.
 * Reported when its connection was ended, and once per holder and reason when it was not.
 */
export interface SilentHolder {
  /** The holder's backend process id on the PostgreSQL server. */
  pid: number;
  /** How long its connection has been idle; null when this role cannot see its session. */
  silentSeconds: number | null;
  /** Its connection was ended (and with it the lock). */
  ended: boolean;
  /** Why it was not: its session not visible to this role, or no right to end it. */
  error?: string;
}

/**
 * Takeover from a holder that hangs rather than dies (a frozen process or VM, an endless
 * pause): its connection stays open and so does its lock. The holder shows it is alive with a
 * query on its lock connection every `heartbeatMs`; a contender that finds the holder's
 * connection idle for longer than `afterMs` ends it (`pg_terminate_backend`), which frees the
 * lock. Contenders must run as the holder's database role (or one granted pg_signal_backend).
 */
export interface TakeoverOptions {
  afterMs: number;
  /** Default: a fifth of `afterMs`. */
  heartbeatMs?: number;
  onTakeover?: (holder: SilentHolder) => void;
}

const SQL = {
  tryLock: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
  unlock: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))',
  // The session holding this database's lock of that key (a bigint key is split over classid
  // and objid, objsubid 1), and for how long its connection has been idle. Another role's
  // session shows no state without pg_read_all_stats.
  holder: `SELECT l.pid, a.state, extract(epoch FROM now() - a.state_change)::float AS idle_seconds
    FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((hashtextextended($1, 0) >> 32) & 4294967295)::oid
      AND l.objid = (hashtextextended($1, 0) & 4294967295)::oid
      AND l.pid <> pg_backend_pid()`,
  // Waits (up to 5 s) for the backend to be gone, and its locks with it.
  endBackend: 'SELECT pg_terminate_backend($1, 5000) AS ended',
} as const;

/** The relay's and the consumer instances' default `TakeoverOptions.afterMs`. */
export const DEFAULT_TAKEOVER_AFTER_MS = 10_000;

/** Takeover from `holder` (e.g. "the active relay") after `afterMs`, each outcome logged as a warning. */
export function loggedTakeover(logger: Logger, holder: string, afterMs = DEFAULT_TAKEOVER_AFTER_MS): TakeoverOptions {
  return {
    afterMs,
    onTakeover: ({ pid, silentSeconds, ended, error }) =>
      ended
        ? logger.warn({ pid, silentSeconds }, `${holder} stopped answering; ended its lock connection`)
        : logger.warn({ pid, silentSeconds, err: error }, `could not take over from ${holder} should it hang`),
  };
}

/** A query on `client` every `everyMs`, so others can tell its session is alive; returns the stop. */
export function heartbeat(client: pg.Client, everyMs: number): () => void {
  let beating = false;
  const timer = setInterval(() => {
    if (beating) return;
    beating = true;
    // A failure ends the connection, which its owner's 'error' and 'end' handlers report.
    client
      .query('SELECT 1')
      .catch(() => undefined)
      .finally(() => (beating = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** How often a holder shows it is alive, for a takeover after `afterMs` of silence. */
export const heartbeatEvery = (takeover: Pick<TakeoverOptions, 'afterMs' | 'heartbeatMs'>): number =>
  takeover.heartbeatMs ?? Math.max(50, Math.floor(takeover.afterMs / 5));

/**
 * A PostgreSQL session advisory lock held on a connection of its own: exactly one holder at
 * a time, released by the server the moment the holder's connection ends (a crashed process
 * included), which is what lets a standby take over within its retry interval. With
 * `takeover`, a holder that hangs is taken over too.
 */
export class AdvisoryLock {
  private client: pg.Client | undefined;
  /** With `standbyApplicationName`: the connection a standby keeps between tries (visible, countable). */
  private standby: pg.Client | undefined;
  private lostHandlers: (() => void)[] = [];
  private stopHeartbeat: () => void = () => undefined;
  /** The holder and reason last reported as not ended: reported once, not at every try. */
  private unended: string | undefined;

  constructor(
    private readonly connectionString: string,
    /** Any text; hashed to the lock's 64-bit key by PostgreSQL. */
    readonly name: string,
    /** Shown in pg_stat_activity, so holders and standbys can be told apart and counted. */
    private readonly applicationName = 'saga-lock',
    /**
     * When set, a try that fails keeps its connection under this application name for the next
     * try, so standbys show in pg_stat_activity (the relay's do). Default: none (each try
     * connects afresh and a standby holds no connection).
     */
    private readonly standbyApplicationName?: string,
    /** Default: none (a holder that hangs keeps the lock until its connection ends). */
    private readonly takeover?: TakeoverOptions,
  ) {}

  get held(): boolean {
    return this.client !== undefined;
  }

  /** Tries once; true when this process now holds the lock. */
  async tryAcquire(): Promise<boolean> {
    if (this.client) return true;
    let client = this.standby;
    try {
      if (!client) {
        client = new pg.Client({
          connectionString: this.connectionString,
          application_name: this.standbyApplicationName ?? this.applicationName,
        });
        const created = client;
        created.on('error', () => this.drop(created));
        created.on('end', () => this.drop(created));
        await created.connect();
      }
      let locked = await this.tryLock(client);
      if (!locked && this.takeover && (await this.endSilentHolder(client, this.takeover))) {
        locked = await this.tryLock(client);
      }
      if (!locked) {
        if (this.standbyApplicationName) {
          this.standby = client;
          return false;
        }
        await client.end();
        return false;
      }
      this.standby = undefined;
      if (this.standbyApplicationName) {
        await client.query(`SELECT set_config('application_name', $1, false)`, [this.applicationName]);
      }
      this.client = client;
      if (this.takeover) this.stopHeartbeat = heartbeat(client, heartbeatEvery(this.takeover));
      return true;
    } catch {
      if (this.standby === client) this.standby = undefined;
      await client?.end().catch(() => undefined);
      return false;
    }
  }

  private async tryLock(client: pg.Client): Promise<boolean> {
    const { rows } = await client.query<{ locked: boolean }>(SQL.tryLock, [this.name]);
    return rows[0]!.locked;
  }

  /** Ends the holder's connection when it has been silent too long; true when it did. */
  private async endSilentHolder(client: pg.Client, takeover: TakeoverOptions): Promise<boolean> {
    const { rows } = await client.query<{ pid: number; state: string | null; idle_seconds: number | null }>(
      SQL.holder,
      [this.name],
    );
    const holder = rows[0];
    if (!holder) return false;
    const report = (found: SilentHolder) => {
      const key = `${found.pid}:${found.error}`;
      if (found.ended || this.unended !== key) takeover.onTakeover?.(found);
      this.unended = found.ended ? undefined : key;
      return found.ended;
    };
    if (holder.state === null) {
      return report({
        pid: holder.pid,
        silentSeconds: null,
        ended: false,
        error:
          'its session is not visible to this database role (grant it pg_read_all_stats, or run every holder as one role)',
      });
    }
    const silentMs = (holder.idle_seconds ?? 0) * 1000;
    if (holder.state !== 'idle' || silentMs <= takeover.afterMs) return false;
    try {
      const ended = (await client.query<{ ended: boolean }>(SQL.endBackend, [holder.pid])).rows[0]!.ended;
      return report({ pid: holder.pid, silentSeconds: holder.idle_seconds, ended });
    } catch (err) {
      return report({
        pid: holder.pid,
        silentSeconds: holder.idle_seconds,
        ended: false,
        error: (err as Error).message,
      });
    }
  }

  /** Called once when a held lock is lost (its connection died). */
  onLost(handler: () => void): void {
    this.lostHandlers.push(handler);
  }

  async release(): Promise<void> {
    const standby = this.standby;
    this.standby = undefined;
    await standby?.end().catch(() => undefined);
    this.stopHeartbeat();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query(SQL.unlock, [this.name]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private drop(client: pg.Client): void {
    if (this.standby === client) this.standby = undefined;
    if (this.client !== client) return;
    this.stopHeartbeat();
    this.client = undefined;
    for (const handler of this.lostHandlers) handler();
  }
}
