import pg from 'pg';

/**
 * A PostgreSQL session advisory lock held on a connection of its own: exactly one holder at
 * a time, released by the server the moment the holder's connection ends (a crashed process
 * included), which is what lets a standby take over within its retry interval.
 */
export class AdvisoryLock {
  private client: pg.Client | undefined;
  /** With `standbyApplicationName`: the connection a standby keeps between tries (visible, countable). */
  private standby: pg.Client | undefined;
  private lostHandlers: (() => void)[] = [];

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
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [this.name],
      );
      if (!rows[0]!.locked) {
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
      return true;
    } catch {
      if (this.standby === client) this.standby = undefined;
      await client?.end().catch(() => undefined);
      return false;
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
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.name]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private drop(client: pg.Client): void {
    if (this.standby === client) this.standby = undefined;
    if (this.client !== client) return;
    this.client = undefined;
    for (const handler of this.lostHandlers) handler();
  }
}
