import path from 'node:path';
import { z } from 'zod';
import { parseApiKeys, type ApiKey } from '../identities';
import { parsePayloadKeys } from '../temporal/payload-codec';
import { adapterNames, type CarrierAdapterName, type PaymentAdapterName } from './adapters';

/** Thrown when the environment does not describe a runnable configuration. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super('Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'));
  }
}

const port = z.coerce.number().int().min(1).max(65535);
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .transform((s) => (s === '' ? undefined : s))
    .optional()
    .refine((s) => s === undefined || protocols.some((p) => s.startsWith(`${p}://`)), {
      message: `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });
/**
 * An adapter name from the registry (src/processes/adapters.ts and the plugins'; the simulator
 * is the default): an unknown one is refused at start-up, not mid-saga.
 */
const adapter = (port: 'payment' | 'carrier') =>
  z
    .string()
    .trim()
    .default('simulator')
    .superRefine((name, ctx) => {
      const names = adapterNames(port);
      if (!names.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `no such adapter; registered: ${names.join(', ')} (a plugin registers yours: docs/extending.md, "Writing a real adapter")`,
        });
      }
    });
/** A Temporal duration such as `30s`, `15m`, `24h` or `2 days`. */
const DURATION = /^(\d+)\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/;
const duration = () => z.string().trim().regex(DURATION, 'must be a duration such as 30s, 15m, 24h or "2 days"');
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Milliseconds of a duration in the form `duration()` accepts (`1500ms`, `5s`, `2 minutes` …). */
export function durationMs(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = match[2]!;
  return Number(match[1]) * (unit === 'ms' || unit.startsWith('milli') ? 1 : UNIT_MS[unit[0]!]!);
}
const hostPort = z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

/**
 * Every environment variable the project reads, with its default.
 * Documented in docs/development.md (Configuration); keep the two in step.
 */
export const envSchema = z.object({
  /** PostgreSQL connection string. Unset: an embedded PostgreSQL is started by `saga dev`. */
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  /** Where `saga dev` keeps local state (embedded PostgreSQL data, Temporal SQLite file). */
  DATA_DIR: z.string().min(1).default('.data'),
  /** Port of the embedded PostgreSQL started when DATABASE_URL is unset. */
  EMBEDDED_PG_PORT: port.default(54329),
  /** Temporal frontend (gRPC). `saga dev` starts a dev server listening here. */
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Temporal Web UI port of the dev server started by `saga dev`. */
  TEMPORAL_UI_PORT: port.default(8233),
  /** The Temporal Web UI as people reach it, for the console's links to workflows (`saga dev` knows its own). */
  TEMPORAL_UI_URL: optionalUrl(['http', 'https']),
  /** Path to a Temporal CLI binary; otherwise PATH, the cache, or a Go build is used. */
  TEMPORAL_CLI: z.string().min(1).optional(),
  TASK_QUEUE: z.string().min(1).default('orders'),
  /**
   * A workflow bundle built ahead (`bundleWorkflowCode`, as `saga cluster up` does), so a
   * worker starts in a second instead of bundling src/workflows itself. Unset: bundle at start.
   */
  WORKFLOW_BUNDLE: z.string().min(1).optional(),
  /** HTTP API port. */
  PORT: port.default(3000),
  /** HTTP API interface. Default 0.0.0.0 with API_KEYS, 127.0.0.1 (loopback only) without. */
  HOST: z.string().min(1).optional(),
  /**
   * Behind a load balancer: which proxies' X-Forwarded-For to believe for the client address
   * (rate limit, audit): `true` (any: only when nothing reaches the API except through the
   * proxy), or addresses/CIDRs `10.0.0.0/8,…`. Unset: the socket's address.
   */
  TRUST_PROXY: z.string().min(1).optional(),
  /**
   * Payload encryption keys, `id:base64key,…` (32 random bytes each): every payload sent to
   * Temporal is sealed with the current one; the others stay for reading older payloads.
   */
  PAYLOAD_KEYS: z.string().trim().optional(),
  /** Which key of PAYLOAD_KEYS (or the key file) encrypts new payloads. Default: the last listed. */
  PAYLOAD_KEY_ID: z.string().trim().min(1).optional(),
  /** A file holding the keys in PAYLOAD_KEYS' format (one a line), read instead of PAYLOAD_KEYS. */
  PAYLOAD_KEY_FILE: z.string().trim().min(1).optional(),
  /**
   * The codec server the Temporal UI asks to decode payloads (`saga dev` and `saga cluster up`
   * point it at their API's /codec). Unset there: theirs; elsewhere: none.
   */
  TEMPORAL_CODEC_ENDPOINT: optionalUrl(['http', 'https']),
  /** API keys, `name:role:key,…` with role customer or operator; unset: an open API on loopback. */
  API_KEYS: z.string().optional(),
  /** RabbitMQ; optional for `saga dev`, required by the test suite when CI=true. */
  AMQP_URL: optionalUrl(['amqp', 'amqps']),
  /** NATS with JetStream; optional for `saga dev`, required by the test suite when CI=true. */
  NATS_URL: optionalUrl(['nats', 'tls']),
  /** How events travel from the outbox to consumers: read from PostgreSQL directly, or relayed to a broker. */
  TRANSPORT: z.enum(['postgres', 'rabbitmq', 'nats']).default('postgres'),
  /**
   * Plugin modules (comma-separated paths or package names) whose sagas, events, consumers and
   * adapters every `saga` command registers before it reads the rest (docs/extending.md).
   */
  SAGA_PLUGINS: z.string().trim().default(''),
  /** Which payment gateway adapter the worker uses (src/processes/adapters.ts or a plugin's). */
  PAYMENT_ADAPTER: adapter('payment'),
  /** Which carrier adapter the worker uses (src/processes/adapters.ts or a plugin's). */
  CARRIER_ADAPTER: adapter('carrier'),
  /** Orders whose total (in cents) exceeds this wait for approve/reject. */
  APPROVAL_THRESHOLD_CENTS: z.coerce.number().int().min(0).default(100_000),
  /** How long an order waits for approval before it is cancelled (e.g. `24h`, `30 minutes`). */
  APPROVAL_TIMEOUT: duration().default('24h'),
  /** How long a return waits for its goods to arrive before it is cancelled. */
  RETURN_GOODS_TIMEOUT: duration().default('14 days'),
  /** HTTP requests per minute per API key (or client address); 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /**
   * Port for /health/live, /health/ready and /metrics of `saga worker`, `saga relay` and
   * `saga consume` (the API serves its own). Unset: no probe server.
   */
  HEALTH_PORT: port.optional(),
  /**
   * After SIGTERM, how long a role (worker, api, relay, consume) keeps working while its
   * /health/ready answers 503, so a load balancer stops routing to it before it drains.
   */
  SHUTDOWN_DELAY: duration().default('0s'),
  /**
   * How long the active `saga relay`, or a `saga consume` instance, may stop answering (frozen,
   * its connections still open) before a standby relay or the other instances take its work
   * over. At least 1s: a moment's pause (a long garbage collection) is not a hang.
   */
  TAKEOVER_AFTER: duration()
    .default('10s')
    // Not a duration at all: the regex said so already (zod runs every check).
    .refine((d) => !DURATION.test(d.trim()) || durationMs(d) >= 1000, 'must be at least 1s'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` or `pretty`; unset: pretty on a terminal, JSON otherwise (read by createLogger). */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** `true` logs customer ids, addresses, payment tokens and credentials unredacted (debugging only). */
  LOG_PERSONAL_DATA: z.enum(['true', 'false']).default('false'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly temporal: {
    readonly address: string;
    readonly namespace: string;
    readonly uiPort: number;
    readonly uiUrl: string | undefined;
    readonly cliPath: string | undefined;
    readonly taskQueue: string;
    readonly workflowBundle: string | undefined;
    /** The codec server the Temporal UI uses (TEMPORAL_CODEC_ENDPOINT). */
    readonly codecEndpoint: string | undefined;
  };
  /** Where the payload keys come from (read by `payloadKeyringOf`, src/processes/payload-keys.ts). */
  readonly payloadKeys: {
    readonly keys: string | undefined;
    readonly currentKeyId: string | undefined;
    readonly file: string | undefined;
  };
  readonly api: {
    readonly port: number;
    readonly host: string;
    readonly rateLimitPerMinute: number | false;
    readonly apiKeys: readonly ApiKey[];
    readonly trustProxy: boolean | string;
  };
  readonly amqpUrl: string | undefined;
  readonly natsUrl: string | undefined;
  readonly transport: Env['TRANSPORT'];
  readonly adapters: { readonly payment: PaymentAdapterName; readonly carrier: CarrierAdapterName };
  /** The plugin modules SAGA_PLUGINS names (installed by the `saga` command before the config is read). */
  readonly plugins: readonly string[];
  readonly orders: { readonly approvalThresholdCents: number; readonly approvalTimeout: string };
  readonly returns: { readonly goodsTimeout: string };
  readonly logLevel: Env['LOG_LEVEL'];
  /** LOG_PERSONAL_DATA: personal fields appear in logs unredacted. */
  readonly logPersonalData: boolean;
  /** Probe server port of the roles without an API (HEALTH_PORT); undefined: none. */
  readonly healthPort: number | undefined;
  /** SHUTDOWN_DELAY in ms: not ready but still working, between SIGTERM and the drain. */
  readonly shutdownDelayMs: number;
  /** TAKEOVER_AFTER in ms (DeliveryOptions.takeoverAfterMs). */
  readonly takeoverAfterMs: number;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses the environment into a typed, frozen config; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '(environment)'),
        message: i.message,
      })),
    );
  }
  const e = parsed.data;
  const brokerUrl = { rabbitmq: ['AMQP_URL', e.AMQP_URL], nats: ['NATS_URL', e.NATS_URL] } as const;
  if (e.TRANSPORT !== 'postgres' && !brokerUrl[e.TRANSPORT][1]) {
    throw new ConfigError([
      { variable: brokerUrl[e.TRANSPORT][0], message: `is required when TRANSPORT=${e.TRANSPORT}` },
    ]);
  }
  let apiKeys: ApiKey[];
  try {
    apiKeys = parseApiKeys(e.API_KEYS);
  } catch (err) {
    throw new ConfigError([{ variable: 'API_KEYS', message: (err as Error).message }]);
  }
  if (e.PAYLOAD_KEYS && e.PAYLOAD_KEY_FILE) {
    throw new ConfigError([
      { variable: 'PAYLOAD_KEY_FILE', message: 'set PAYLOAD_KEYS or PAYLOAD_KEY_FILE, not both' },
    ]);
  }
  if (e.PAYLOAD_KEYS) {
    try {
      parsePayloadKeys(e.PAYLOAD_KEYS, e.PAYLOAD_KEY_ID);
    } catch (err) {
      const variable =
        e.PAYLOAD_KEY_ID && /current key/.test((err as Error).message) ? 'PAYLOAD_KEY_ID' : 'PAYLOAD_KEYS';
      throw new ConfigError([{ variable, message: (err as Error).message }]);
    }
  }
  const loopback = ['127.0.0.1', 'localhost', '::1'];
  if (apiKeys.length === 0 && e.HOST && !loopback.includes(e.HOST)) {
    throw new ConfigError([
      {
        variable: 'HOST',
        message: `an open API (no API_KEYS) listens on loopback only; set API_KEYS to listen on ${e.HOST}`,
      },
    ]);
  }
  return deepFreeze({
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL,
      cliPath: e.TEMPORAL_CLI,
      taskQueue: e.TASK_QUEUE,
      workflowBundle: e.WORKFLOW_BUNDLE,
      codecEndpoint: e.TEMPORAL_CODEC_ENDPOINT,
    },
    payloadKeys: {
      keys: e.PAYLOAD_KEYS || undefined,
      currentKeyId: e.PAYLOAD_KEY_ID,
      file: e.PAYLOAD_KEY_FILE ? path.resolve(e.PAYLOAD_KEY_FILE) : undefined,
    },
    api: {
      port: e.PORT,
      host: e.HOST ?? (apiKeys.length ? '0.0.0.0' : '127.0.0.1'),
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE || false,
      apiKeys,
      trustProxy: e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY === 'false' || !e.TRUST_PROXY ? false : e.TRUST_PROXY,
    },
    amqpUrl: e.AMQP_URL,
    natsUrl: e.NATS_URL,
    transport: e.TRANSPORT,
    adapters: { payment: e.PAYMENT_ADAPTER, carrier: e.CARRIER_ADAPTER },
    plugins: pluginSpecifiers(e.SAGA_PLUGINS),
    orders: { approvalThresholdCents: e.APPROVAL_THRESHOLD_CENTS, approvalTimeout: e.APPROVAL_TIMEOUT },
    returns: { goodsTimeout: e.RETURN_GOODS_TIMEOUT },
    logLevel: e.LOG_LEVEL,
    logPersonalData: e.LOG_PERSONAL_DATA === 'true',
    healthPort: e.HEALTH_PORT,
    shutdownDelayMs: durationMs(e.SHUTDOWN_DELAY),
    takeoverAfterMs: durationMs(e.TAKEOVER_AFTER),
  });
}

/** The module names in `SAGA_PLUGINS` (comma-separated; blanks ignored). */
export const pluginSpecifiers = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** DATABASE_URL, or a clear error: every role but `saga dev` needs one. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError([
      { variable: 'DATABASE_URL', message: 'is required for this command (only `saga dev` embeds PostgreSQL)' },
    ]);
  }
  return config.databaseUrl;
}
