import { dataDirOf, describeNoStack, displayPath, lookupLocalStack, type LocalStackLookup } from './local-stack';

/**
 * The CLI's operator commands are clients of the HTTP API (audited, role-checked), never a
 * second path to the database or to Temporal. This finds the API, calls it with Node's fetch
 * and turns every failure into one plain message (a `CliError`), never a stack trace.
 */

/** A failure the user can act on: printed as `saga: <message>`, exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Where the API is, its key, and where that came from (for messages). */
export interface ApiTarget {
  url: string;
  key?: string;
  /** e.g. `--api`, `SAGA_API_URL`, "`npm start` (pid 123, .data/dev.lock)". */
  source: string;
}

export const NO_API_FOUND = 'No API found: start the stack (npm start) or set SAGA_API_URL (and SAGA_API_KEY)';

function apiUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new CliError(`${source} must be the API's http(s) URL, e.g. http://127.0.0.1:3000, not "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`${source} must be the API's http(s) URL, e.g. http://127.0.0.1:3000, not "${value}"`);
  }
  if (url.search || url.hash) throw new CliError(`${source} must be the API's base URL, without ?query or #fragment`);
  return url.toString().replace(/\/+$/, '');
}

/**
 * `--api <url>`, else SAGA_API_URL, else the API of the `npm start` running here (its lock
 * file in DATA_DIR); the key always from SAGA_API_KEY (an argument would show in `ps`).
 */
export function resolveApiTarget(
  options: { api?: string },
  env: NodeJS.ProcessEnv = process.env,
  lookup: () => LocalStackLookup = () => lookupLocalStack(dataDirOf(env)),
): ApiTarget {
  const key = env.SAGA_API_KEY?.trim() || undefined;
  if (key !== undefined && !/^[\x21-\x7e]+$/.test(key)) {
    throw new CliError('SAGA_API_KEY holds characters an HTTP header cannot carry (spaces, line breaks, non-ASCII)');
  }
  const withKey = (t: ApiTarget): ApiTarget => (key ? { ...t, key } : t);
  if (options.api !== undefined) return withKey({ url: apiUrl(options.api, '--api'), source: '--api' });
  if (env.SAGA_API_URL?.trim())
    return withKey({ url: apiUrl(env.SAGA_API_URL, 'SAGA_API_URL'), source: 'SAGA_API_URL' });
  const stack = lookup();
  if (stack.state === 'running') {
    return withKey({
      url: stack.stack.apiUrl.replace(/\/+$/, ''),
      source: `the running \`npm start\` (pid ${stack.pid}, ${displayPath(stack.file)})`,
    });
  }
  throw new CliError(`${NO_API_FOUND}.\n${describeNoStack(stack)}.`);
}

/** An RFC 9457 problem document as the API answers it (`fieldErrors`; `errors` accepted too). */
export interface ProblemDocument {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  correlationId?: string;
  fieldErrors?: { field: string; message: string }[];
  errors?: { field: string; message: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function asProblem(body: unknown): ProblemDocument | undefined {
  if (!isObject(body)) return undefined;
  if (typeof body.detail !== 'string' && typeof body.title !== 'string') return undefined;
  return body as ProblemDocument;
}

const fieldErrorsOf = (p: ProblemDocument) =>
  [...(p.fieldErrors ?? []), ...(p.errors ?? [])].filter((e) => isObject(e) && typeof e.message === 'string');

/**
 * The message for an API error answer: the problem's `detail` and its field errors, one per
 * line; 401 and 403 said plainly (a key is missing or unknown; this key may not act).
 */
export function formatApiError(
  status: number,
  body: unknown,
  context: { url: string; keySent: boolean; statusText?: string },
): string {
  const problem = asProblem(body);
  if (status === 401) {
    return context.keySent
      ? `The API at ${context.url} does not know the key in SAGA_API_KEY.`
      : `The API at ${context.url} needs an API key: set SAGA_API_KEY to an operator's key.`;
  }
  if (status === 403) {
    const detail = problem?.detail ? ` (${problem.detail})` : '';
    return `This API key may not do this: operators only${detail}. Set SAGA_API_KEY to an operator's key.`;
  }
  if (!problem) {
    const text = typeof body === 'string' ? body.trim().split('\n')[0]!.slice(0, 200) : '';
    return (
      `The API at ${context.url} answered ${status}${context.statusText ? ` ${context.statusText}` : ''}` +
      `${text ? `: ${text}` : ''}`
    );
  }
  const lines = [problem.detail || problem.title || `The API answered ${status}`];
  for (const e of fieldErrorsOf(problem)) lines.push(`  ${e.field ? `${e.field}: ` : ''}${e.message}`);
  if (status === 404 && /^No route /.test(problem.detail ?? '')) {
    lines.push(`(The API at ${context.url} does not have this route: is it older than this CLI?)`);
  }
  if (status >= 500 && problem.correlationId) lines.push(`(correlation id ${problem.correlationId})`);
  return lines.join('\n');
}

/** The message when the API cannot be reached at all (refused, unknown host, reset, timed out). */
export function formatUnreachable(target: ApiTarget, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'unknown host'
        : (code ?? cause?.message ?? (err as Error)?.message ?? String(err));
  return `The API at ${target.url} is not reachable (${why}); the URL came from ${target.source}.`;
}

export interface ApiClientOptions {
  /** Who acts, sent as X-Actor: recorded when the API is open (with keys the key's name is). */
  actor?: string;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

export class ApiClient {
  constructor(
    readonly target: ApiTarget,
    private readonly options: ApiClientOptions = {},
  ) {}

  get<T>(pathname: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const search = params.toString();
    return this.request<T>('GET', search ? `${pathname}?${search}` : pathname);
  }

  post<T>(pathname: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', pathname, body);
  }

  private async request<T>(method: string, pathname: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.target.key) headers['x-api-key'] = this.target.key;
    if (this.options.actor && /^[\x21-\x7e ]{1,100}$/.test(this.options.actor)) headers['x-actor'] = this.options.actor;
    // No content-type without a body: fastify refuses an empty JSON body.
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await (this.options.fetch ?? fetch)(`${this.target.url}${pathname}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      text = await res.text();
    } catch (err) {
      throw new CliError(formatUnreachable(this.target, err));
    }
    let json: unknown = text;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: kept as text for the message
    }
    if (!res.ok) {
      throw new CliError(
        formatApiError(res.status, json, {
          url: this.target.url,
          keySent: Boolean(this.target.key),
          statusText: res.statusText,
        }),
      );
    }
    if (!isObject(json)) {
      throw new CliError(
        `The API at ${this.target.url} answered ${method} ${pathname.split('?')[0]} without a JSON object: is it the saga API?`,
      );
    }
    return json as T;
  }
}
