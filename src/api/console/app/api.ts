import type { z } from 'zod';
import type { Problem } from '../../errors';
import type { bulkResultSchema } from '../../routes/dead-letters';
import type { notificationSchema } from '../../schemas';
import type {
  attentionItemSchema,
  deliverySchema,
  identitySchema,
  operatorActionSchema,
} from '../../routes/operations';
import type { storySchema } from '../../routes/orders/story';
import type { deadLetterDetailSchema, deadLetterSchema, orderSummarySchema } from '../../schemas';

/**
 * The console's only way to the system: the HTTP API, with the key the operator entered. Types
 * come from the API's own zod schemas (type-only imports: no zod in the bundle), the same ones
 * that validate the API's answers and make its OpenAPI document.
 */

export type OrderSummary = z.infer<typeof orderSummarySchema>;
export type Story = z.infer<typeof storySchema>;
export type AttentionItem = z.infer<typeof attentionItemSchema>;
export type Delivery = z.infer<typeof deliverySchema>;
export type Identity = z.infer<typeof identitySchema>;
export type OperatorAction = z.infer<typeof operatorActionSchema>;
export type DeadLetter = z.infer<typeof deadLetterSchema>;
export type DeadLetterDetail = z.infer<typeof deadLetterDetailSchema>;
export type BulkResult = z.infer<typeof bulkResultSchema>;
export type Notification = z.infer<typeof notificationSchema>;

const KEY_STORAGE = 'saga-console.api-key';

export const apiKey = {
  get: (): string => localStorage.getItem(KEY_STORAGE) ?? '',
  set: (key: string) => (key ? localStorage.setItem(KEY_STORAGE, key) : localStorage.removeItem(KEY_STORAGE)),
};

/** An answer the API refused, in words an operator can act on. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
    readonly method: 'GET' | 'POST' = 'GET',
  ) {
    super(ApiProblem.explain(status, problem, method));
  }

  static explain(status: number, p: Partial<Problem>, method: 'GET' | 'POST' = 'GET'): string {
    const fields = p.fieldErrors?.map((f) => `${f.field}: ${f.message}`).join('; ');
    if (status === 401) return `${p.detail ?? 'An API key is required'}. Enter a key at the top of the page.`;
    if (status === 403) {
      const needs = method === 'GET' ? 'Reading this page' : 'Acting';
      return `${p.detail ?? 'This key may not do this'}. ${needs} needs an operator's key.`;
    }
    return [p.detail ?? p.title ?? `The API answered ${status}`, fields].filter(Boolean).join(' — ');
  }
}

/** The API could not be reached at all (stopped, restarting, network). */
export class ApiUnreachable extends Error {}

type Listener = (state: { reachable: boolean; error?: string }) => void;
const listeners = new Set<Listener>();
let reachable = true;
/** Tells the page whether the API answers (for its banner), when that changes. */
export function onReachability(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function setReachable(now: boolean, error?: string) {
  if (now === reachable && now) return;
  reachable = now;
  for (const l of listeners) l({ reachable: now, error });
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey.get();
  return { ...(key ? { 'x-api-key': key } : {}), ...extra };
}

export async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    setReachable(false, (err as Error).message);
    throw new ApiUnreachable('The API is not reachable');
  }
  // A gateway answering for a stopped API is the API being unreachable too.
  if (res.status === 502 || res.status === 504) {
    setReachable(false, `the gateway answered ${res.status}`);
    throw new ApiUnreachable('The API is not reachable');
  }
  setReachable(true);
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new ApiProblem(res.status, (json ?? {}) as Partial<Problem>, method);
  return json as T;
}

/** A query string of the fields that are set. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Follows a Server-Sent Events stream (fetch, so the API key travels as a header, which
 * EventSource cannot send). Calls `onOpen` each time it (re)connects, so the caller can reload
 * what it may have missed; reconnects after `retryMs` until stopped.
 */
export function followEvents(
  url: string,
  handlers: { onOpen: () => void; onEvent: (type: string, data: string) => void },
  retryMs = 2000,
): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(url, { headers: headers({ accept: 'text/event-stream' }), signal: controller.signal });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        handlers.onOpen();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let type = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) type = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            }
            if (data.length) handlers.onEvent(type, data.join('\n'));
          }
        }
      } catch {
        // reconnect below
      }
      if (!stopped) await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
