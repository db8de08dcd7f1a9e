import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  bindMounts,
  compose,
  envValue,
  imageParts,
  readRepoFile as read,
  ROOT,
  service,
  services,
  targetPort,
  type Service,
} from '../helpers/compose';
import { durationMs } from '../../src/processes/config';
import { DRAIN_LIMIT_MS } from '../../src/processes/signals';
import { dynamicConfigYaml, TEMPORAL_DYNAMIC_CONFIG } from '../../src/temporal/dynamic-config';

/**
 * Static checks of docker-compose.yml and the Dockerfile against the code they run:
 * no Docker engine is needed, but a renamed CLI command, a new search attribute or a
 * dangling depends_on fails here instead of at `docker compose up`.
 */

/** Milliseconds of a Compose duration such as `30s` or `1m30s`. */
function composeDurationMs(text: string): number {
  const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  return (Number(match?.[1] ?? 0) * 60 + Number(match?.[2] ?? 0)) * 1000;
}

function dependsOn(svc: Service): Record<string, string | undefined> {
  const deps = svc.depends_on;
  if (!deps) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition ?? 'service_started']));
}

function envNames(svc: Service): string[] {
  const env = svc.environment;
  if (!env) return [];
  if (Array.isArray(env)) return env.map((entry) => entry.split('=')[0]!);
  return Object.keys(env);
}

function healthcheckText(svc: Service): string {
  const test = svc.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

function commandText(svc: Service): string {
  const parts = [svc.entrypoint, svc.command].flatMap((c) => (c === undefined ? [] : Array.isArray(c) ? c : [c]));
  return parts.join(' ');
}

/** Host ports a service publishes, from short ("8233:8080", "127.0.0.1:3000:3000") or long syntax. */
function publishedPorts(svc: Service): number[] {
  return (svc.ports ?? []).flatMap((port): number[] => {
    if (typeof port === 'object') return port.published === undefined ? [] : [Number(port.published)];
    const spec = String(port).split('/')[0]!;
    const fields = spec.split(':');
    // "3000" alone publishes on a random host port: nothing fixed.
    return fields.length < 2 ? [] : [Number(fields[fields.length - 2])];
  });
}

function builtFromDockerfile(svc: Service): boolean {
  if (svc.build === undefined) return false;
  const context = typeof svc.build === 'string' ? svc.build : (svc.build.context ?? '.');
  const dockerfile = typeof svc.build === 'string' ? 'Dockerfile' : (svc.build.dockerfile ?? 'Dockerfile');
  return path.resolve(ROOT, context, dockerfile) === path.join(ROOT, 'Dockerfile');
}

/** The `saga` commands, as the command modules (src/cli/commands/) declare them. */
function cliCommands(): Set<string> {
  const modules = readdirSync(path.join(ROOT, 'src/cli/commands')).map((f) => read(`src/cli/commands/${f}`));
  return new Set(modules.flatMap((text) => [...text.matchAll(/\.command\(\s*['"]([\w-]+)['"]/g)].map((m) => m[1]!)));
}

/** Search attributes the workflows upsert, with the type name `temporal operator` expects. */
function searchAttributes(): { name: string; type: string }[] {
  const cliType: Record<string, string> = {
    KEYWORD: 'Keyword',
    TEXT: 'Text',
    INT: 'Int',
    DOUBLE: 'Double',
    BOOL: 'Bool',
    DATETIME: 'Datetime',
    KEYWORD_LIST: 'KeywordList',
  };
  const source = read('src/saga/search-attributes.ts');
  return [...source.matchAll(/defineSearchAttributeKey\(\s*'(\w+)'\s*,\s*SearchAttributeType\.(\w+)\s*\)/g)].map(
    (m) => ({
      name: m[1]!,
      type: cliType[m[2]!] ?? `unknown SearchAttributeType.${m[2]}`,
    }),
  );
}

const EXPECTED_SERVICES = [
  'temporal-postgresql',
  'temporal-schema',
  'temporal',
  'temporal-ui',
  'temporal-search-attributes',
  'postgres',
  'rabbitmq',
  'nats',
  'migrate',
  'worker',
  'api',
  'api-gateway',
  'relay',
  'consume',
];

/** The roles without an API: their probes are on HEALTH_PORT. */
const PROBED_ROLES = ['worker', 'relay', 'consume'];
/** The scaled-out roles, as `saga cluster up` runs them. */
const REPLICATED_ROLES = ['worker', 'api', 'relay', 'consume'];
const GATEWAY_CONFIG = 'deploy/nginx/api-gateway.conf';
const DYNAMIC_CONFIG = 'deploy/temporal/dynamicconfig.yaml';

describe('docker-compose.yml', () => {
  it('uses the Compose spec (no obsolete top-level version key)', () => {
    expect(compose).toBeInstanceOf(Object);
    expect(compose).not.toHaveProperty('version');
  });

  it('defines every service of the production-like topology', () => {
    const missing = EXPECTED_SERVICES.filter((name) => !(name in services));
    expect(missing).toEqual([]);
  });

  it('only depends on services that exist', () => {
    const dangling = Object.entries(services).flatMap(([name, svc]) =>
      Object.keys(dependsOn(svc))
        .filter((dep) => !(dep in services))
        .map((dep) => `${name} -> ${dep}`),
    );
    expect(dangling).toEqual([]);
  });

  it('only declares named volumes that are defined at the top level', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = Object.values(services).flatMap((svc) =>
      ((svc as { volumes?: unknown[] }).volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':')[0]! : String((v as { source?: string }).source ?? '')))
        .filter((source) => source !== '' && !source.startsWith('.') && !source.startsWith('/')),
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((v) => !declared.includes(v))).toEqual([]);
  });

  it('runs only commands the CLI knows in the services built from the Dockerfile', () => {
    const known = cliCommands();
    expect([...known]).toEqual(expect.arrayContaining(['migrate', 'worker', 'api']));

    const built = Object.entries(services).filter(([, svc]) => builtFromDockerfile(svc));
    const commands = Object.fromEntries(
      built.map(([name, svc]) => {
        const argv = Array.isArray(svc.command) ? svc.command : (svc.command ?? 'api').trim().split(/\s+/);
        return [name, argv[0] ?? ''];
      }),
    );
    expect(commands).toMatchObject({
      migrate: 'migrate',
      worker: 'worker',
      api: 'api',
      relay: 'relay',
      consume: 'consume',
    });
    const unknown = Object.entries(commands).filter(([, command]) => !known.has(command));
    expect(unknown).toEqual([]);
  });

  it.each(['worker', 'api', 'relay', 'consume'])('gives %s the database and Temporal connection settings', (name) => {
    expect(envNames(service(name))).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'TASK_QUEUE',
        'AMQP_URL',
        'NATS_URL',
      ]),
    );
  });

  it.each(['worker', 'api'])('gives %s the payload key file the payload-keys job creates, read-only', (name) => {
    const keyFile = envValue(service(name), 'PAYLOAD_KEY_FILE');
    expect(keyFile).toBe('/keys/payload-keys');
    expect(service(name).volumes).toContain('payload-keys:/keys:ro');
    expect(dependsOn(service(name))).toMatchObject({ 'payload-keys': 'service_completed_successfully' });
    expect(commandText(service('payload-keys'))).toBe(`payload-key --file ${keyFile}`);
    // No key in the repository: neither file nor value.
    expect(envValue(service(name), 'PAYLOAD_KEYS')).toBeUndefined();
  });

  it("points the Temporal UI at the API's codec route, through the gateway", () => {
    expect(envValue(service('temporal-ui'), 'TEMPORAL_CODEC_ENDPOINT')).toBe('http://localhost:3000/codec');
  });

  it('gives migrate the database URL', () => {
    expect(envNames(service('migrate'))).toContain('DATABASE_URL');
  });

  it.each(['worker', 'api'])('starts %s only after migrations and search attributes are in place', (name) => {
    expect(dependsOn(service(name))).toMatchObject({
      migrate: 'service_completed_successfully',
      'temporal-search-attributes': 'service_completed_successfully',
    });
  });

  it('runs migrations once the application database is healthy', () => {
    expect(dependsOn(service('migrate'))).toMatchObject({ postgres: 'service_healthy' });
    expect(service('postgres').healthcheck?.test).toBeDefined();
  });

  it('publishes the API on 3000 through the gateway only, the Temporal UI on 8233 and gRPC on 7233', () => {
    expect(publishedPorts(service('api-gateway'))).toContain(3000);
    // Replicas cannot share a fixed host port: they are reached through the gateway.
    expect(publishedPorts(service('api'))).toEqual([]);
    expect(publishedPorts(service('temporal-ui'))).toContain(8233);
    expect(targetPort(service('temporal-ui'), 8233)).toBe(8080);
    expect(publishedPorts(service('temporal'))).toContain(7233);
  });

  it('health-checks the API on GET /health/ready on its PORT', () => {
    const port = envValue(service('api'), 'PORT');
    expect(port).toMatch(/^\d+$/);
    expect(healthcheckText(service('api'))).toContain(`http://127.0.0.1:${port}/health/ready`);
  });

  it.each(REPLICATED_ROLES)('runs at least two replicas of %s', (name) => {
    expect(service(name).deploy?.replicas ?? 1).toBeGreaterThanOrEqual(2);
  });

  it.each(PROBED_ROLES)('gives %s a HEALTH_PORT and health-checks /health/ready on it', (name) => {
    const svc = service(name);
    const port = envValue(svc, 'HEALTH_PORT');
    expect(port).toMatch(/^\d+$/);
    expect(healthcheckText(svc)).toContain(`http://127.0.0.1:${port}/health/ready`);
  });

  it.each(REPLICATED_ROLES)(
    'gives %s a stop_grace_period covering SHUTDOWN_DELAY + the drain limit, so Docker never SIGKILLs a drain',
    (name) => {
      const svc = service(name);
      const grace = (svc as { stop_grace_period?: string }).stop_grace_period;
      expect(grace).toMatch(/^(\d+m)?(\d+s)?$/);
      const delay = durationMs(envValue(svc, 'SHUTDOWN_DELAY') ?? '0s');
      // A margin for what follows the drain: closing connections, flushing spans.
      expect(composeDurationMs(grace!)).toBeGreaterThanOrEqual(delay + DRAIN_LIMIT_MS + 5000);
    },
  );

  it('keeps an API replica serving for a SHUTDOWN_DELAY after SIGTERM, while /health/ready answers 503', () => {
    const delay = envValue(service('api'), 'SHUTDOWN_DELAY');
    expect(delay).toBeDefined();
    expect(durationMs(delay!)).toBeGreaterThan(0);
  });

  it('registers every search attribute of src/saga/search-attributes.ts with its type', () => {
    const attributes = searchAttributes();
    expect(attributes.length).toBeGreaterThan(0);
    const command = commandText(service('temporal-search-attributes'));
    const unregistered = attributes
      .filter(({ name, type }) => !new RegExp(`--name[\\s=]+${name}\\s+--type[\\s=]+${type}\\b`).test(command))
      .map(({ name, type }) => `${name}=${type}`);
    expect(unregistered).toEqual([]);
    expect(command).toContain('--address temporal:7233');
  });
});

describe('docker-compose.yml: Temporal', () => {
  const adminTools = Object.entries(services).filter(
    ([, svc]) => imageParts(svc.image).repository === 'temporalio/admin-tools',
  );

  it('uses no deprecated auto-setup image', () => {
    const autoSetup = Object.entries(services)
      .filter(([, svc]) => /(^|\/)auto-setup(:|@|$)/.test(svc.image ?? ''))
      .map(([name]) => name);
    expect(autoSetup).toEqual([]);
  });

  it('runs temporalio/server at the server version of the admin-tools image', () => {
    const server = imageParts(service('temporal').image);
    expect(server.repository).toBe('temporalio/server');
    expect(server.tag).toMatch(/^\d+\.\d+\.\d+$/);
    // Admin-tools tags are <server>[-tctl-<tctl>-cli-<cli>]: the schema files and tools of that server.
    const tags = adminTools.map(([, svc]) => imageParts(svc.image).tag);
    expect(adminTools.map(([name]) => name)).toEqual(
      expect.arrayContaining(['temporal-schema', 'temporal-search-attributes']),
    );
    expect(tags.map((tag) => tag.split('-')[0])).toEqual(tags.map(() => server.tag));
  });

  it('configures the server for its PostgreSQL through the variables of its config template', () => {
    const temporal = service('temporal');
    expect(envValue(temporal, 'DB')).toBe('postgres12');
    const seeds = envValue(temporal, 'POSTGRES_SEEDS') ?? '';
    expect(seeds in services).toBe(true);
    expect(envValue(temporal, 'POSTGRES_USER')).toBe(envValue(service(seeds), 'POSTGRES_USER'));
    expect(envValue(temporal, 'POSTGRES_PWD')).toBe(envValue(service(seeds), 'POSTGRES_PASSWORD'));
    // Binding every interface: the default (the container's IP) is out of reach of a loopback health check.
    expect(envValue(temporal, 'BIND_ON_IP')).toBe('0.0.0.0');
  });

  it.each([
    ['DBNAME', 'temporal'],
    ['VISIBILITY_DBNAME', 'visibility'],
  ])('installs the schema of the server database %s before the server starts', (variable, schema) => {
    const database = envValue(service('temporal'), variable);
    expect(database).toMatch(/^\w+$/);
    const command = commandText(service('temporal-schema'));
    const tool = `temporal-sql-tool --db ${database}`;
    expect(command).toContain(`${tool} create-database`);
    expect(command).toContain(`${tool} setup-schema -v 0.0`);
    expect(command).toContain(`${tool} update-schema -d /etc/temporal/schema/postgresql/v12/${schema}/versioned`);
    expect(envValue(service('temporal-schema'), 'SQL_HOST')).toBe(envValue(service('temporal'), 'POSTGRES_SEEDS'));
    expect(dependsOn(service('temporal'))).toMatchObject({ 'temporal-schema': 'service_completed_successfully' });
  });

  it('health-checks the server and starts the UI and the namespace job once it is healthy', () => {
    expect(healthcheckText(service('temporal'))).toMatch(
      /temporal operator cluster health --address 127\.0\.0\.1:7233/,
    );
    expect(dependsOn(service('temporal-ui'))).toMatchObject({ temporal: 'service_healthy' });
    expect(dependsOn(service('temporal-search-attributes'))).toMatchObject({ temporal: 'service_healthy' });
  });

  it('pins the UI image to a release', () => {
    const ui = imageParts(service('temporal-ui').image);
    expect(ui.repository).toBe('temporalio/ui');
    expect(ui.tag).toMatch(/^v?\d+\.\d+\.\d+$/);
  });

  it('creates the namespace the roles use when it is missing', () => {
    const namespace = envValue(service('worker'), 'TEMPORAL_NAMESPACE');
    const command = commandText(service('temporal-search-attributes'));
    const flags = `--address temporal:7233 --namespace ${namespace}`;
    // describe || create: created only when describing it fails.
    expect(command).toMatch(
      new RegExp(`namespace describe ${flags}\\b[^|]*\\|\\|\\s*temporal operator namespace create ${flags}\\b`),
    );
  });

  it('runs the server with the dynamic config `saga cluster up` runs, mounted read-only where DYNAMIC_CONFIG_FILE_PATH says', () => {
    const temporal = service('temporal');
    const target = envValue(temporal, 'DYNAMIC_CONFIG_FILE_PATH');
    expect(target).toMatch(/^\/etc\/temporal\/config\/dynamicconfig\/[\w.-]+\.yaml$/);
    expect(bindMounts(temporal)).toContainEqual({
      source: path.join(ROOT, DYNAMIC_CONFIG),
      target,
      readOnly: true,
    });
    // The same values, in the server's file format, as src/temporal/dynamic-config.ts.
    expect(parse(read(DYNAMIC_CONFIG))).toEqual(parse(dynamicConfigYaml(TEMPORAL_DYNAMIC_CONFIG)));
  });
});

describe('docker-compose.yml: api-gateway', () => {
  const gateway = (): Service => service('api-gateway');
  const config = existsSync(path.join(ROOT, GATEWAY_CONFIG)) ? read(GATEWAY_CONFIG) : '';
  // Directives only: comments may mention anything.
  const directives = config.replace(/#.*$/gm, '');

  it(`mounts ${GATEWAY_CONFIG} read-only as nginx's server configuration`, () => {
    expect(existsSync(path.join(ROOT, GATEWAY_CONFIG))).toBe(true);
    expect(imageParts(gateway().image).repository).toBe('nginx');
    expect(bindMounts(gateway())).toContainEqual({
      source: path.join(ROOT, GATEWAY_CONFIG),
      target: expect.stringMatching(/^\/etc\/nginx\/conf\.d\/[\w.-]+\.conf$/),
      readOnly: true,
    });
  });

  it('listens on the port it publishes', () => {
    const target = targetPort(gateway(), 3000);
    expect(directives).toMatch(new RegExp(`^\\s*listen\\s+(?:[\\d.]+:)?${target};`, 'm'));
  });

  it("proxies to the api service on the API's PORT, resolved through Docker's DNS per request", () => {
    const port = envValue(service('api'), 'PORT');
    expect(directives).toMatch(/^\s*resolver\s+127\.0\.0\.11\b/m);
    // A variable in proxy_pass makes nginx resolve the name when it serves the request.
    const upstream = /^\s*set\s+\$(\w+)\s+([^;\s]+);/m.exec(directives);
    expect(upstream?.[2]).toBe(`api:${port}`);
    expect(directives).toMatch(new RegExp(`^\\s*proxy_pass\\s+http://\\$${upstream?.[1]};`, 'm'));
  });

  it('retries the next replica on connection errors without resending non-idempotent requests', () => {
    expect(directives).toMatch(/^\s*proxy_next_upstream\s+[^;]*\berror\b[^;]*;/m);
    expect(directives).not.toMatch(/\bnon_idempotent\b/);
  });

  it('does not drop the request headers the API reads', () => {
    expect(directives).not.toMatch(/^\s*proxy_pass_request_headers\s+off/m);
    expect(directives).not.toMatch(
      /proxy_set_header\s+(X-Correlation-Id|Idempotency-Key|X-API-Key|Authorization)\s+""/i,
    );
  });

  it('starts once the API replicas are ready', () => {
    expect(dependsOn(gateway())).toMatchObject({ api: 'service_healthy' });
  });
});

describe('Dockerfile', () => {
  const dockerfilePath = path.join(ROOT, 'Dockerfile');

  it('exists next to docker-compose.yml', () => {
    expect(existsSync(dockerfilePath)).toBe(true);
  });

  it('starts the compiled CLI, as a non-root user, serving the API by default', () => {
    const text = existsSync(dockerfilePath) ? readFileSync(dockerfilePath, 'utf8') : '';
    // The runtime (last) stage is what the containers run.
    const runtime = text.split(/^FROM\s/m).pop() ?? '';
    expect(runtime).toMatch(/^ENTRYPOINT\s+\[\s*"node"\s*,\s*"dist\/cli\.js"\s*\]/m);
    expect(runtime).toMatch(/^CMD\s+\[\s*"api"\s*\]/m);
    expect(runtime).toMatch(/^USER\s+node\b/m);
    expect(runtime).toMatch(/^COPY\s+migrations\b/m);
  });
});
