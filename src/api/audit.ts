import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../logger';
import type { Pool } from '../store/pool';
import { recordOperatorAction, type ActionTargetType } from '../store/operator-actions';

/**
 * Every operator action is audited: a route declares `config.audit` (what it does and what it
 * acts on), and one hook records who acted, why, and the answer (applied, refused with the
 * problem's detail, or failed) before the answer leaves. Declared once per route rather than
 * written in each handler, so no operator route can forget it (a test checks every operator
 * POST declares one).
 */

export interface AuditSpec {
  /** e.g. `retry_step`, `replay_dead_letters`. */
  action: string;
  targetType: ActionTargetType;
  /** The route parameter naming the target (`orderId`, `returnId`, `id`); none for a filter. */
  targetParam?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the handler adds to the audit record (counts of a bulk action, the saga phase after). */
    auditDetail?: Record<string, unknown>;
  }
  interface FastifyContextConfig {
    audit?: AuditSpec;
  }
}

/** Who acted: the API key's name; with an open API, the `X-Actor` header or the client address. */
export function actorOf(request: FastifyRequest): string {
  if (request.identity.role !== 'anonymous') return request.identity.name;
  const header = request.headers['x-actor'];
  const given = typeof header === 'string' ? header.trim() : '';
  return /^[\x21-\x7e ]{1,100}$/.test(given) ? given : `anonymous@${request.ip}`;
}

/** PostgreSQL stores no NUL: a refused request's text is kept with U+FFFD in its place. */
const storable = (s: string) => s.replaceAll('\u0000', '\uFFFD');

const reasonOf = (body: unknown): string | null => {
  if (!body || typeof body !== 'object') return null;
  const { reason, note } = body as { reason?: unknown; note?: unknown };
  const text = typeof reason === 'string' ? reason : typeof note === 'string' ? note : null;
  return text === null ? null : storable(text.slice(0, 500));
};

function problemDetail(payload: unknown): Record<string, unknown> | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const p = JSON.parse(payload) as { code?: string; detail?: string; fieldErrors?: unknown };
    return { code: p.code, detail: p.detail, ...(p.fieldErrors ? { fieldErrors: p.fieldErrors } : {}) };
  } catch {
    return undefined;
  }
}

/** An operator route that would act without leaving a record. */
export class UnauditedRouteError extends Error {
  override readonly name = 'UnauditedRouteError';
}

export function registerAudit(app: FastifyInstance, pool: Pool, logger?: Logger): void {
  app.decorateRequest('auditDetail', undefined);
  // Fails closed: an operator action without `config.audit` does not start.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const config = route.config as { access?: string; audit?: AuditSpec } | undefined;
    if (methods.includes('POST') && config?.access === 'operator' && !config.audit) {
      throw new UnauditedRouteError(`Operator route POST ${route.url} declares no config.audit`);
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const spec = request.routeOptions.config?.audit;
    // 401/403 never reached the action: the auth hook's refusals are not operator actions.
    if (!spec || reply.statusCode === 401 || reply.statusCode === 403) return payload;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const body = request.body as Record<string, unknown> | undefined;
    if (body?.dryRun === true) return payload; // a dry run changes nothing
    const targetId = spec.targetParam
      ? String(params[spec.targetParam] ?? '')
      : JSON.stringify(body && typeof body === 'object' ? { ...body, dryRun: undefined } : {});
    const detail = {
      ...(params.step ? { step: params.step } : {}),
      ...(reply.statusCode >= 400 ? problemDetail(payload) : request.auditDetail),
    };
    try {
      await recordOperatorAction(pool, {
        actor: actorOf(request),
        role: request.identity.role,
        action: spec.action,
        targetType: spec.targetType,
        targetId: storable(targetId.slice(0, 500)),
        reason: reasonOf(body),
        status: reply.statusCode,
        detail: Object.keys(detail).length ? JSON.parse(storable(JSON.stringify(detail))) : undefined,
      });
    } catch (err) {
      // The action has happened; an audit row that could not be written is logged loudly.
      (logger ?? request.log).error({ err, action: spec.action, targetId }, 'could not record an operator action');
    }
    return payload;
  });
}
