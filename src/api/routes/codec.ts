import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actsAsOperator } from '../auth';
import type { ApiDeps } from '../deps';
import { problem, sendProblem, ValidationError } from '../errors';
import { problems } from '../schemas';

/**
 * The codec server of the Temporal Web UI (Temporal's remote codec protocol): the UI posts the
 * payloads it shows to `/codec/decode` and gets them back decoded with the keys of this API's
 * Temporal client, which are the worker's. Operators only whenever API keys are configured:
 * anyone else sees ciphertext. The role is checked here rather than declared as operator
 * access: decoding reads, it is no operator action for the audit log, which the UI would fill
 * with a row per page view. The browser calls it across origins, so it answers CORS for
 * the Temporal UI's origin (the one the API links to, TEMPORAL_UI_URL or `saga dev`'s own).
 */

const base64 = z
  .string()
  .max(4 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloadSchema = z.object({
  metadata: z.record(z.string().max(200), base64).optional(),
  data: base64.optional(),
});
const payloadsSchema = z.object({
  payloads: z.array(payloadSchema).max(10_000).describe('Payloads as proto JSON: metadata values and data in base64'),
});
type JsonPayload = z.infer<typeof payloadSchema>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});

/** Origins the UI may run at: the configured one, and its loopback twin (localhost ↔ 127.0.0.1). */
function allowedOrigins(uiUrl: string | undefined): Set<string> {
  if (!uiUrl) return new Set();
  const url = new URL(uiUrl);
  const origins = new Set([url.origin]);
  const twin = { localhost: '127.0.0.1', '127.0.0.1': 'localhost' }[url.hostname];
  if (twin) origins.add(`${url.protocol}//${twin}${url.port ? `:${url.port}` : ''}`);
  return origins;
}

const isCodecRoute = (request: FastifyRequest) => (request.routeOptions.url ?? '').startsWith('/codec/');

export function codecRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const origins = allowedOrigins(deps.temporalUi?.url);
  // The API's Temporal client's codecs and namespace, read when asked (the client is built first).
  const codecs = (): readonly PayloadCodec[] => deps.temporal.options.loadedDataConverter.payloadCodecs;
  const namespace = () => deps.temporal.options.namespace;

  const cors = (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !origins.has(origin)) return;
    void reply.header('access-control-allow-origin', origin);
    void reply.header('vary', 'Origin');
    void reply.header('access-control-allow-credentials', 'true');
  };
  // On every answer of these routes, refusals of the auth hook included: the UI then sees a
  // 401/403 rather than a network error.
  app.addHook('onSend', async (request, reply, payload) => {
    if (isCodecRoute(request)) cors(request, reply);
    return payload;
  });

  const operatorsOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    if (actsAsOperator(request.identity, deps.apiKeys)) return;
    const instance = request.url.split('?')[0];
    if (request.identity.role === 'anonymous') {
      void reply.header('www-authenticate', 'ApiKey header="X-API-Key"');
      return sendProblem(
        reply,
        problem('unauthorized', "Send an operator's API key (X-API-Key or Bearer)", { instance }),
      );
    }
    return sendProblem(
      reply,
      problem(
        'forbidden',
        `${request.identity.name} (${request.identity.role}) may not decode payloads: operators only`,
        {
          instance,
        },
      ),
    );
  };

  const checkNamespace = (request: FastifyRequest) => {
    const asked = request.headers['x-namespace'];
    if (typeof asked === 'string' && asked && asked !== namespace()) {
      throw new ValidationError([{ field: 'X-Namespace', message: `this codec serves namespace ${namespace()}` }]);
    }
  };

  const run = async (payloads: Payload[], direction: 'encode' | 'decode') => {
    let out = payloads;
    // Decoding undoes the codecs in reverse order, as the SDK does.
    const ordered = direction === 'encode' ? codecs() : [...codecs()].reverse();
    for (const codec of ordered) {
      try {
        out = await codec[direction](out);
      } catch (err) {
        // An unknown key or a forged payload: said, never answered as something else.
        throw new ValidationError([{ field: 'payloads', message: (err as Error).message }]);
      }
    }
    return out;
  };

  for (const direction of ['decode', 'encode'] as const) {
    typed.options(
      `/codec/${direction}`,
      {
        config: { access: 'public' },
        schema: {
          tags: ['operations'],
          summary: `CORS preflight of /codec/${direction} for the Temporal UI's origin`,
          response: { 204: z.null().describe('Allowed methods and headers, for the UI origin') },
        },
      },
      async (request, reply) => {
        cors(request, reply);
        const asked = request.headers['access-control-request-headers'];
        return reply
          .header('access-control-allow-methods', 'POST, OPTIONS')
          .header(
            'access-control-allow-headers',
            typeof asked === 'string' && asked ? asked : 'Authorization, Content-Type, X-Namespace, X-API-Key',
          )
          .header('access-control-max-age', '600')
          .status(204)
          .send(null);
      },
    );
    typed.post(
      `/codec/${direction}`,
      {
        config: { access: 'public' },
        onRequest: operatorsOnly,
        bodyLimit: 8 * 1024 * 1024,
        schema: {
          tags: ['operations'],
          summary:
            direction === 'decode'
              ? "Decrypt payloads for the Temporal UI (its codec endpoint): Temporal's remote codec protocol"
              : 'Encrypt payloads with the current key (for the Temporal UI and CLI sending input)',
          headers: z.object({
            'x-namespace': z.string().optional().describe('The Temporal namespace (the UI sends it)'),
          }),
          body: payloadsSchema,
          security: [{ apiKey: [] }],
          response: { 200: payloadsSchema, ...problems(400, 401, 403, 429, 500) },
        },
      },
      async (request) => {
        checkNamespace(request);
        const decoded = await run(request.body.payloads.map(fromJson), direction);
        return { payloads: decoded.map(toJson) };
      },
    );
  }
}
