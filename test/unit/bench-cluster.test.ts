import { clusterScenario } from '../../bench/scenarios/cluster';
import type { ScenarioContext } from '../../bench/harness';
import { TemporalServerNotFoundError } from '../../src/temporal/server-binary';

// Without the real server's binaries (`npm run temporal:server` builds them) the cluster
// scenario says so and how to get them, instead of failing the whole bench run.

it('reports that it did not run, and why, when the Temporal server is not built', async () => {
  const lines: string[] = [];
  const unused = () => {
    throw new Error('not reached without a server');
  };
  const ctx: ScenarioContext = {
    quick: true,
    scale: 0.02,
    progress: unused,
    log: (line) => lines.push(line),
    database: unused,
    temporalCli: unused,
    temporalServer: () => Promise.reject(new TemporalServerNotFoundError('not built: run `npm run temporal:server`')),
    postgresUrl: 'postgres://unused',
    amqpUrl: undefined,
    natsUrl: undefined,
    shared: new Map(),
    sagaCommand: ['unused'],
    workflowBundles: unused,
  };
  const result = await clusterScenario.run(ctx);
  expect(result.ratios).toEqual([]);
  expect(result.notes).toEqual([expect.stringContaining('npm run temporal:server')]);
  expect(lines).toEqual([expect.stringMatching(/^cluster: not run\. .*npm run temporal:server/)]);
});
