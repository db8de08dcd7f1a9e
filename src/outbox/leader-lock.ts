import pg from 'pg';

/**
 * A PostgreSQL session advisory lock held on a connection of its own: exactly one holder at
 * a time, released by the server the moment the holder's connection ends (a crashed process
 * included), which is what lets a standby take over within its retry interval.
 */
export class AdvisoryLock {
  private client: pg.Client | undefined;
  private lostHandlers: (() => void)[] = [];

  constructor(
    private readonly connectionString: string,
    /** Any text; hashed to the lock's 64-bit key by PostgreSQL. */
    readonly name: string,
    /** Shown in pg_stat_activity, so holders and standbys can be told apart and counted. */
    private readonly applicationName = 'saga-lock',
  ) {}

  get held(): boolean {
    return this.client !== undefined;
  }

  /** Tries once; true when this process now holds the lock. */
  async tryAcquire(): Promise<boolean> {
    if (this.client) return true;
    const client = new pg.Client({ connectionString: this.connectionString, application_name: this.applicationName });
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [this.name],
      );
      if (!rows[0]!.locked) {
        await client.end();
        return false;
      }
      this.client = client;
      return true;
    } catch {
      await client.end().catch(() => undefined);
      return false;
    }
  }

  /** Called once when a held lock is lost (its connection died). */
  onLost(handler: () => void): void {
    this.lostHandlers.push(handler);
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.name]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    for (const handler of this.lostHandlers) handler();
  }
}
