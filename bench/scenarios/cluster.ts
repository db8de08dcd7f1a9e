import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { TEMPORAL_DYNAMIC_CONFIG } from '../../src/temporal/dynamic-config';
import { TemporalServerNotFoundError } from '../../src/temporal/server-binary';
import { startTemporalServer } from '../../src/temporal/server-cluster';
import { freePortBlock } from '../../src/util/free-port';
import { quantile, type Figure, type Scenario, type ScenarioContext } from '../harness';
import { medianSegments, timelines, widestGaps, type CallerTimes } from '../timeline';
import {
  DECLINED_EVERY,
  HAPPY_ACTIVITIES,
  IN_FLIGHT,
  runBaseline,
  runSagas,
  startStack,
  type Stack,
  type StackServer,
} from './sagas';

/**
 * The `sagas` scenario's saga mix and bare workflow on the production-like topology's server:
 * the real Temporal server on PostgreSQL (4 history shards, the project's dynamic config),
 * started as `saga cluster up` starts it (startTemporalServer), with the same roles as
 * processes of their own. One server per run: it takes tens of seconds to start, so the
 * tiny run (the harness test) stays as small as a ratio allows.
 */

const fmt = (ms: number) => ms.toFixed(0);

/** The real server on the bench's PostgreSQL, in databases of its own dropped at stop. */
async function startRealServer(ctx: ScenarioContext): Promise<StackServer> {
  const binaries = await ctx.temporalServer();
  const suffix = randomUUID().slice(0, 8);
  const databases = { main: `bench_temporal_${suffix}`, visibility: `bench_temporal_${suffix}_visibility` };
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'saga-bench-cluster-'));
  const cleanUp = async () => {
    const admin = new pg.Client({ connectionString: ctx.postgresUrl });
    await admin.connect();
    try {
      for (const name of Object.values(databases))
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const server = await startTemporalServer({
      binaries,
      postgresUrl: ctx.postgresUrl,
      databases,
      dataDir,
      port: await freePortBlock(9),
    });
    return {
      address: server.address,
      async stop() {
        await server.stop();
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

export const clusterScenario: Scenario = {
  name: 'cluster',
  title: 'Sagas vs a bare workflow on the real Temporal server on PostgreSQL (saga cluster up)',
  async run(ctx) {
    // The tiny run: 4 + 4 at saturation, 2 + 2 at 1/s (the server's start-up dominates anyway).
    const count = Math.max(4, Math.round(120 * ctx.scale));
    const paced = Math.max(2, Math.round(count / 2));
    const figures: Figure[] = [];
    const figure = (name: string, value: number, unit: string) =>
      figures.push({ scenario: 'cluster', name, value, unit });

    const started = performance.now();
    let stack: Stack;
    try {
      stack = await startStack(ctx, await startRealServer(ctx), 'cluster');
    } catch (err) {
      if (!(err instanceof TemporalServerNotFoundError)) throw err;
      ctx.log(`cluster: not run. ${err.message}`);
      return { ratios: [], figures: [], notes: [`Not run: ${err.message}`] };
    }
    figure('start-up: server schema, server, roles', performance.now() - started, 'ms');
    try {
      const warm = ctx.progress('cluster: warm-up', 4);
      await runSagas(stack, 2, 0, () => warm.increment());
      await runBaseline(stack, 2, () => warm.increment());
      warm.done();

      const bar = ctx.progress(`cluster: ${count} sagas + ${count} bare workflows`, 2 * count);
      const bare = await runBaseline(stack, count, () => bar.increment());
      const sagas = await runSagas(stack, count, 100, () => bar.increment());
      bar.done();
      figure('sagas/s (saturation)', sagas.sagasPerSecond, '/s');
      figure('bare workflows/s', bare.perSecond, '/s');
      figure('saga p50', quantile(sagas.latencies, 0.5), 'ms');
      figure('saga p99', quantile(sagas.latencies, 0.99), 'ms');
      figure('bare workflow p50', quantile(bare.latencies, 0.5), 'ms');

      // 1/s offered: no overlap, the latency of one saga on this server.
      const pacedBar = ctx.progress(`cluster: ${paced} + ${paced} bare at 1/s offered`, 2 * paced);
      const pacedBare = await runBaseline(stack, paced, () => pacedBar.increment(), 1);
      const pacedSagas = await runSagas(stack, paced, 1000, () => pacedBar.increment(), { offeredPerSecond: 1 });
      pacedBar.done();
      const p50 = { sagas: quantile(pacedSagas.latencies, 0.5), bare: quantile(pacedBare.latencies, 0.5) };
      figure('saga p50 at 1/s offered', p50.sagas, 'ms');
      figure('bare workflow p50 at 1/s offered', p50.bare, 'ms');
      const breakdown = async (who: string, callers: CallerTimes[]) => {
        const medians = medianSegments(await timelines(stack.client, callers));
        for (const s of medians) figure(`at 1/s offered, ${who}: ${s.label} (p50)`, s.p50, 'ms');
        return medians;
      };
      const gaps = widestGaps(
        await breakdown('saga', pacedSagas.callers),
        await breakdown('bare workflow', pacedBare.callers),
      );
      for (const role of stack.roles) figure(`peak RSS: ${role.name}`, role.peakRssMiB(), 'MiB');

      return {
        ratios: [
          {
            name: 'cluster-saga-vs-bare-workflow',
            value: sagas.sagasPerSecond / bare.perSecond,
            target: 0.8,
            baseline: `bare workflow with ${HAPPY_ACTIVITIES} no-op activities on the same real server (p50 at 1/s: saga ${fmt(p50.sagas)} ms, bare ${fmt(p50.bare)} ms)`,
            unit: 'x',
            whenMissed:
              `the real server's own work (each task a few PostgreSQL transactions on 4 shards) shares 2 cores with the worker, API, consumers and both databases, and the saga adds its own per step; measured p50 per saga at 1/s: ${gaps}. ` +
              'Closing it needs less work per step (as for saga-vs-bare-workflow) or the server on cores of its own, as in production.',
          },
        ],
        figures,
        notes: [
          `${count} orders per run, ${IN_FLIGHT} in flight, one in ${DECLINED_EVERY} declined; ${paced} + ${paced} at 1/s offered; the same roles, mix and bare workflow as \`sagas\`.`,
          `The real Temporal server as \`saga cluster up\` starts it: PostgreSQL (the bench's), 4 history shards, dynamic config ${Object.entries(
            TEMPORAL_DYNAMIC_CONFIG,
          )
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(', ')}.`,
        ],
      };
    } finally {
      await stack.stop();
    }
  },
};
