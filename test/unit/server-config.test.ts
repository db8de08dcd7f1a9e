import path from 'node:path';
import { parse } from 'yaml';
import { dynamicConfigYaml, TEMPORAL_DYNAMIC_CONFIG } from '../../src/temporal/dynamic-config';
import { dynamicConfigPath, serverConfig, type TemporalServerOptions } from '../../src/temporal/server-cluster';

// The real server's configuration (`saga cluster up`) names a dynamic config file, the
// project's set unless told otherwise; the file's format is the server's (key: [{ value }]).

const options: TemporalServerOptions = {
  binaries: { server: '/x/server', sqlTool: '/x/sql', schemaDir: '/x/schema', ui: '/x/ui' },
  postgresUrl: 'postgres://postgres:pw@127.0.0.1:5432/postgres',
  dataDir: 'relative/temporal',
};

it('names the dynamic config file by its absolute path, polled', () => {
  const config = parse(serverConfig(options)) as { dynamicConfigClient?: { filepath: string; pollInterval: string } };
  expect(config.dynamicConfigClient).toEqual({
    filepath: path.resolve('relative/temporal/config/dynamicconfig.yaml'),
    pollInterval: '60s',
  });
  expect(dynamicConfigPath(options)).toBe(config.dynamicConfigClient!.filepath);
});

it('runs the server on its own defaults when given no dynamic config', () => {
  expect(parse(serverConfig({ ...options, dynamicConfig: {} }))).not.toHaveProperty('dynamicConfigClient');
});

it('writes the transfer queue rate and eager activities in the server file format', () => {
  expect(parse(dynamicConfigYaml(TEMPORAL_DYNAMIC_CONFIG))).toEqual({
    'history.transferProcessorMaxPollRPS': [{ value: 1000 }],
    'system.enableActivityEagerExecution': [{ value: true }],
  });
});
