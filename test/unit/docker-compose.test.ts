import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * Static checks of docker-compose.yml and the Dockerfile against the code they run:
 * no Docker engine is needed, but a renamed CLI command, a new search attribute or a
 * dangling depends_on fails here instead of at `docker compose up`.
 */

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

type Environment = Record<string, string | number | boolean | null> | string[];
type Port = string | number | { target?: number | string; published?: number | string };

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Environment;
  ports?: Port[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
}

interface ComposeFile {
  version?: unknown;
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// `merge: true` resolves the `<<: *anchor` keys that Compose supports.
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const services: Record<string, Service> = compose.services ?? {};

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
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

/** Subcommands `src/cli.ts` registers with commander: `.command('name')`. */
function cliCommands(): Set<string> {
  return new Set([...read('src/cli.ts').matchAll(/\.command\(\s*['"]([\w-]+)['"]/g)].map((m) => m[1]!));
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
  const source = read('src/temporal/search-attributes.ts');
  return [...source.matchAll(/defineSearchAttributeKey\(\s*'(\w+)'\s*,\s*SearchAttributeType\.(\w+)\s*\)/g)].map(
    (m) => ({
      name: m[1]!,
      type: cliType[m[2]!] ?? `unknown SearchAttributeType.${m[2]}`,
    }),
  );
}

const EXPECTED_SERVICES = [
  'temporal-postgresql',
  'temporal',
  'temporal-ui',
  'temporal-search-attributes',
  'postgres',
  'rabbitmq',
  'nats',
  'migrate',
  'worker',
  'api',
];

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
    expect(commands).toMatchObject({ migrate: 'migrate', worker: 'worker', api: 'api' });
    const unknown = Object.entries(commands).filter(([, command]) => !known.has(command));
    expect(unknown).toEqual([]);
  });

  it.each(['worker', 'api'])('gives %s the database and Temporal connection settings', (name) => {
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

  it('publishes the API on 3000 and the Temporal UI on 8233', () => {
    expect(publishedPorts(service('api'))).toContain(3000);
    expect(publishedPorts(service('temporal-ui'))).toContain(8233);
    expect(publishedPorts(service('temporal'))).toContain(7233);
  });

  it('health-checks the API on GET /health', () => {
    const test = service('api').healthcheck?.test;
    const text = Array.isArray(test) ? test.join(' ') : (test ?? '');
    expect(text).toMatch(/\/health\b/);
    expect(text).toMatch(/:3000\b/);
  });

  it('registers every search attribute of src/temporal/search-attributes.ts with its type', () => {
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
