import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse as LightResponse } from 'fastify';

/**
 * Checks answers against the served OpenAPI document: the route's operation must declare the
 * status and the media type, and a JSON body must validate against the declared schema (Ajv,
 * JSON Schema 2020-12, the dialect of OpenAPI 3.1). A request that matched no route (a 404 for
 * an unknown path) is not a route's answer and is not checked.
 */

export interface ObservedResponse {
  method: string;
  /** The route pattern (`/orders/:orderId`), or undefined when no route matched. */
  route: string | undefined;
  url: string;
  status: number;
  contentType: string;
  body: string;
}

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type OpenApiDocument = { paths: Record<string, Record<string, Operation>> };

const DOC_ID = 'openapi.json';

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** A checker for one document: `check(observed)` is the reason it is not declared, or null. */
export function responseChecker(document: OpenApiDocument): (observed: ObservedResponse) => string | null {
  const ajv = new Ajv2020({ strict: false, validateSchema: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(document as object, DOC_ID);
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  return (o) => {
    if (o.route === undefined || o.route.startsWith('/docs')) return null;
    const path = o.route.replace(/:(\w+)/g, '{$1}');
    const method = o.method.toLowerCase();
    const what = `${o.method} ${o.url} → ${o.status}`;
    const operation = document.paths[path]?.[method];
    if (!operation) return `${what}: the document has no operation ${o.method} ${path}`;
    const response = operation.responses?.[String(o.status)] ?? operation.responses?.default;
    if (!response) {
      return `${what}: status ${o.status} is not declared (declared: ${Object.keys(operation.responses ?? {}).join(', ')})`;
    }
    const mediaType = o.contentType.split(';')[0]!.trim().toLowerCase();
    const content = response.content ?? {};
    // A response declared without content (a 204) is declared when it carries none.
    if (!mediaType && Object.keys(content).length === 0 && o.body === '') return null;
    if (!(mediaType in content)) {
      return `${what}: media type ${mediaType || '(none)'} is not declared (declared: ${Object.keys(content).join(', ')})`;
    }
    if (!mediaType.endsWith('json')) return null;
    const ref = `${DOC_ID}#/${pointer('paths', path, method, 'responses', String(o.status), 'content', mediaType, 'schema')}`;
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      validators.set(ref, validate);
    }
    let body: unknown;
    try {
      body = JSON.parse(o.body);
    } catch {
      return `${what}: declared as ${mediaType} but not JSON: ${o.body.slice(0, 200)}`;
    }
    if (validate(body)) return null;
    return `${what}: the body does not match the declared schema: ${ajv.errorsText(validate.errors)}; body ${o.body.slice(0, 300)}`;
  };
}

/**
 * Records every answer `app.inject` gets (call before `app.ready()`): status, headers and body
 * as the client saw them, and the route fastify matched. Answers the router gives itself (bad
 * escapes, over-long ids) run no hook: their route is found by matching the path against the
 * registered patterns, static ones first.
 */
export function recordResponses(app: FastifyInstance): ObservedResponse[] {
  const observed: ObservedResponse[] = [];
  const patterns: { method: string; url: string; regex: RegExp; params: number }[] = [];
  const matched = new WeakMap<object, string | undefined>();
  app.addHook('onRoute', (route) => {
    const params = (route.url.match(/:\w+|\*/g) ?? []).length;
    const regex = new RegExp(
      `^${route.url
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/:\w+/g, '[^/]+')
        .replace(/\*/g, '.*')}$`,
    );
    for (const method of [route.method].flat()) patterns.push({ method, url: route.url, regex, params });
    patterns.sort((a, b) => a.params - b.params);
  });
  app.addHook('onRequest', async (request) => {
    matched.set(request.raw, request.routeOptions.url);
  });
  const routeOf = (method: string, url: string) => {
    const path = url.split('?')[0]!;
    return patterns.find((p) => p.method === method && p.regex.test(path))?.url;
  };
  const inject = app.inject.bind(app) as (opts: InjectOptions | string) => Promise<LightResponse>;
  (app as { inject: unknown }).inject = async (opts: InjectOptions | string) => {
    const res = await inject(opts);
    const req = res.raw.req as object;
    const method = (typeof opts === 'string' ? 'GET' : (opts.method ?? 'GET')).toUpperCase();
    const url = typeof opts === 'string' ? opts : String(opts.url ?? opts.path ?? '/');
    observed.push({
      method,
      route: matched.has(req) ? matched.get(req) : routeOf(method, url),
      url,
      status: res.statusCode,
      contentType: String(res.headers['content-type'] ?? ''),
      body: res.body,
    });
    return res;
  };
  return observed;
}

/** Every observed answer the app's own served document does not declare, as reasons. */
export async function undeclaredResponses(app: FastifyInstance, observed: ObservedResponse[]): Promise<string[]> {
  // The document as GET /docs/json serves it (asked directly: no request, no rate limit).
  await app.ready();
  const document = (app as unknown as { swagger: () => OpenApiDocument }).swagger();
  const check = responseChecker(document);
  return observed.map(check).filter((r): r is string => r !== null);
}
