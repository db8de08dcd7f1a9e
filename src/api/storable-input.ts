import type { FastifyInstance } from 'fastify';
import { ValidationError, type FieldError } from './errors';

/**
 * Text PostgreSQL cannot hold is refused at the door. `text` stores no NUL (U+0000), `jsonb`
 * refuses the `\u0000` escape and an unpaired UTF-16 surrogate (`\ud800`, which JSON.parse
 * lets through and JSON.stringify writes back as an escape). Such a string in a path
 * parameter, the query, a header or anywhere in a JSON body (keys included) is answered 400
 * naming the field, before route validation and before any handler, saga or audit row sees it.
 */

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_CHARS = new RegExp(`\u0000|${LONE_SURROGATE.source}`, 'g');

/** Why `s` cannot be stored in PostgreSQL, or null when it can. */
export function unstorableReason(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(s)) return 'must not contain unpaired UTF-16 surrogates';
  return null;
}

/** At most this many field errors are listed: one is enough to refuse. */
const MAX_ERRORS = 20;

/**
 * Every unstorable string (object keys included) in `value`, named as the API names fields:
 * `prefix.a.0.b`, or bare (`a.0.b`) for the body; `(body)` for a body that is itself a string.
 */
export function unstorableFields(value: unknown, prefix = ''): FieldError[] {
  const errors: FieldError[] = [];
  const name = (path: string[]) => [prefix, ...path].filter(Boolean).join('.') || '(body)';
  const stack: [unknown, string[]][] = [[value, []]];
  while (stack.length && errors.length < MAX_ERRORS) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const reason = unstorableReason(v);
      if (reason) errors.push({ field: name(path), message: reason });
    } else if (v && typeof v === 'object') {
      for (const [key, child] of Object.entries(v)) {
        const reason = unstorableReason(key);
        if (reason) errors.push({ field: name([...path, key]), message: `name ${reason}` });
        stack.push([child, [...path, key]]);
      }
    }
  }
  // A field named with what cannot be stored is shown with U+FFFD in its place.
  return errors.map((e) => ({ ...e, field: e.field.replace(UNSTORABLE_CHARS, '\ufffd') }));
}

/** The hook: params, query, every header and the body of every request that reached a route. */
export function registerStorableInput(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const errors = [
      ...unstorableFields(request.params, 'params'),
      ...unstorableFields(request.query, 'query'),
      ...unstorableFields(request.headers, 'headers'),
      ...(request.body === undefined ? [] : unstorableFields(request.body)),
    ];
    if (errors.length) throw new ValidationError(errors.slice(0, MAX_ERRORS));
  });
}
