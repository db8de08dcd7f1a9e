import pg from 'pg';

/** A holder whose lock connection had been silent for longer than the takeover allows. */
export interface SilentHolder {
  /** The holder's backend process id on the PostgreSQL server. */
  pid: number;
  silentSeconds: number;
  /** Its connection was ended (and with it the lock); false when the server refused. */
  ended: boolean;
  /** Why it could not be ended (e.g. a role without the right to signal the holder's backend). */
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
  // and objid, objsubid 1), when its connection has been idle for longer than $2 ms.
  silentHolder: `SELECT a.pid, extract(epoch FROM now() - a.state_change)::float AS silent_seconds
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((hashtextextended($1, 0) >> 32) & 4294967295)::oid
      AND l.objid = (hashtextextended($1, 0) & 4294967295)::oid
      AND a.pid <> pg_backend_pid()
      AND a.state = 'idle' AND a.state_change < now() - make_interval(secs => $2::float / 1000)`,
  // Waits (up to 5 s) for the backend to be gone, and its locks with it.
  endBackend: 'SELECT pg_terminate_backend($1, 5000) AS ended',
} as const;

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
  private heartbeat: NodeJS.Timeout | undefined;

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
      this.startHeartbeat(client);
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
    const { rows } = await client.query<{ pid: number; silent_seconds: number }>(SQL.silentHolder, [
      this.name,
      takeover.afterMs,
    ]);
    const holder = rows[0];
    if (!holder) return false;
    let ended = false;
    let error: string | undefined;
    try {
      ended = (await client.query<{ ended: boolean }>(SQL.endBackend, [holder.pid])).rows[0]!.ended;
    } catch (err) {
      error = (err as Error).message;
    }
    takeover.onTakeover?.({
      pid: holder.pid,
      silentSeconds: holder.silent_seconds,
      ended,
      ...(error ? { error } : {}),
    });
    return ended;
  }

  /** While held: a query now and then, so contenders can tell a live holder from a hung one. */
  private startHeartbeat(client: pg.Client): void {
    if (!this.takeover) return;
    const every = this.takeover.heartbeatMs ?? Math.max(50, Math.floor(this.takeover.afterMs / 5));
    let beating = false;
    this.heartbeat = setInterval(() => {
      if (beating || this.client !== client) return;
      beating = true;
      // A failure ends the connection, which `drop` reports as the lock lost.
      client
        .query('SELECT 1')
        .catch(() => undefined)
        .finally(() => (beating = false));
    }, every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
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
