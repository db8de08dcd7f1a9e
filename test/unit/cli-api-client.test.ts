import {
  ApiClient,
  CliError,
  formatApiError,
  formatUnreachable,
  NO_API_FOUND,
  resolveApiTarget,
} from '../../src/cli/api-client';
import type { LocalStackLookup } from '../../src/cli/local-stack';

// The CLI's operator commands as API clients: where the API is, and what an error answer says.

const URL_ = 'http://127.0.0.1:3000';
const ctx = { url: URL_, keySent: false };

describe('formatApiError', () => {
  it("prints a problem's detail and its field errors one per line", () => {
    const body = {
      type: '/problems/validation-failed',
      code: 'validation_failed',
      title: 'The request is invalid',
      status: 400,
      detail: 'Invalid request: body.reason say why',
      fieldErrors: [
        { field: 'body.reason', message: 'say why (it is recorded)' },
        { field: 'params.step', message: 'Invalid option' },
      ],
    };
    expect(formatApiError(400, body, ctx)).toBe(
      'Invalid request: body.reason say why\n  body.reason: say why (it is recorded)\n  params.step: Invalid option',
    );
  });

  it('accepts field errors under `errors` too, and falls back to the title', () => {
    expect(formatApiError(400, { title: 'Bad', errors: [{ field: 'from', message: 'not a date' }] }, ctx)).toBe(
      'Bad\n  from: not a date',
    );
  });

  it('says plainly that a key is missing, unknown, or may not act', () => {
    expect(formatApiError(401, { detail: 'Send an API key in the X-API-Key header' }, ctx)).toBe(
      `The API at ${URL_} needs an API key: set SAGA_API_KEY to an operator's key.`,
    );
    expect(formatApiError(401, { detail: 'The API key is not known' }, { ...ctx, keySent: true })).toBe(
      `The API at ${URL_} does not know the key in SAGA_API_KEY.`,
    );
    expect(
      formatApiError(403, { detail: 'shop (customer) may not do this: operators only' }, { ...ctx, keySent: true }),
    ).toBe(
      "This API key may not do this: operators only (shop (customer) may not do this: operators only). Set SAGA_API_KEY to an operator's key.",
    );
  });

  it('names a missing route, and the correlation id of a server error', () => {
    expect(formatApiError(404, { detail: 'No route POST /dead-letters/replay' }, ctx)).toMatch(
      /^No route POST \/dead-letters\/replay\n\(The API at .* does not have this route/,
    );
    expect(formatApiError(404, { detail: 'No dead letter 7' }, ctx)).toBe('No dead letter 7');
    expect(formatApiError(500, { detail: 'The request failed on the server', correlationId: 'c-1' }, ctx)).toBe(
      'The request failed on the server\n(correlation id c-1)',
    );
  });

  it('describes an answer that is not a problem document', () => {
    expect(formatApiError(502, '<html>Bad gateway</html>\nmore', { ...ctx, statusText: 'Bad Gateway' })).toBe(
      `The API at ${URL_} answered 502 Bad Gateway: <html>Bad gateway</html>`,
    );
    expect(formatApiError(503, undefined, ctx)).toBe(`The API at ${URL_} answered 503`);
  });
});

describe('formatUnreachable', () => {
  it('says the API is not reachable and where its URL came from', () => {
    const err = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(formatUnreachable({ url: URL_, source: 'SAGA_API_URL' }, err)).toBe(
      `The API at ${URL_} is not reachable (connection refused); the URL came from SAGA_API_URL.`,
    );
    const dns = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } });
    expect(formatUnreachable({ url: 'http://nowhere:1', source: '--api' }, dns)).toMatch(/\(unknown host\)/);
  });
});

describe('resolveApiTarget', () => {
  const running: LocalStackLookup = {
    state: 'running',
    file: '/x/.data/dev.lock',
    pid: 42,
    startedAt: '2025-01-01T00:00:00Z',
    stack: {
      apiUrl: 'http://127.0.0.1:4000',
      databaseUrl: 'postgres://u:p@127.0.0.1:1/db',
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      temporalUiUrl: null,
    },
  };
  const absent: LocalStackLookup = { state: 'absent', file: '/x/.data/dev.lock', why: 'no lock file' };

  it('takes --api, else SAGA_API_URL, else the running stack; the key only from SAGA_API_KEY', () => {
    const env = { SAGA_API_URL: 'http://api.example:8080/', SAGA_API_KEY: 'k-1' };
    expect(resolveApiTarget({ api: 'http://other:1/saga/' }, env, () => running)).toEqual({
      url: 'http://other:1/saga',
      key: 'k-1',
      source: '--api',
    });
    expect(resolveApiTarget({}, env, () => running)).toEqual({
      url: 'http://api.example:8080',
      key: 'k-1',
      source: 'SAGA_API_URL',
    });
    const local = resolveApiTarget({}, {}, () => running);
    expect(local).toEqual({ url: 'http://127.0.0.1:4000', source: expect.stringContaining('pid 42') });
  });

  it('says how to get an API when none is found', () => {
    expect(() => resolveApiTarget({}, {}, () => absent)).toThrow(CliError);
    expect(() => resolveApiTarget({}, {}, () => absent)).toThrow(`${NO_API_FOUND}.`);
    expect(() => resolveApiTarget({}, {}, () => ({ state: 'starting', file: '/x/.data/dev.lock', pid: 7 }))).toThrow(
      /pid 7\) is still starting/,
    );
  });

  it('refuses a URL that is not http(s) and a key no header can carry', () => {
    expect(() => resolveApiTarget({ api: 'localhost:3000' }, {})).toThrow(/--api must be the API's http\(s\) URL/);
    expect(() => resolveApiTarget({}, { SAGA_API_URL: 'ftp://x' })).toThrow(/SAGA_API_URL must be/);
    expect(() => resolveApiTarget({ api: URL_ }, { SAGA_API_KEY: 'a\nb' })).toThrow(/SAGA_API_KEY holds characters/);
  });
});

describe('ApiClient', () => {
  function fakeFetch(status: number, body: string) {
    const calls: { url: string; init: RequestInit }[] = [];
    const fn = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body, { status, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    return { calls, fn };
  }

  it('sends the key as X-API-Key and the actor, JSON bodies only when there is one', async () => {
    const f = fakeFetch(200, '{"deadLetters":[]}');
    const api = new ApiClient({ url: URL_, key: 'secret', source: '--api' }, { actor: 'cli:ops', fetch: f.fn });
    await api.get('/dead-letters', { consumer: 'notifier', eventType: undefined, limit: 5 });
    await api.post('/dead-letters/3/replay');
    await api.post('/dead-letters/discard', { consumer: 'notifier', dryRun: true });
    expect(f.calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      `GET ${URL_}/dead-letters?consumer=notifier&limit=5`,
      `POST ${URL_}/dead-letters/3/replay`,
      `POST ${URL_}/dead-letters/discard`,
    ]);
    const headers = f.calls.map((c) => c.init.headers as Record<string, string>);
    expect(headers[0]).toMatchObject({ 'x-api-key': 'secret', 'x-actor': 'cli:ops' });
    expect(headers[1]!['content-type']).toBeUndefined();
    expect(f.calls[1]!.init.body).toBeUndefined();
    expect(headers[2]!['content-type']).toBe('application/json');
    expect(JSON.parse(f.calls[2]!.init.body as string)).toEqual({ consumer: 'notifier', dryRun: true });
  });

  it('turns error answers, network failures and non-JSON answers into CliErrors', async () => {
    const target = { url: URL_, source: 'SAGA_API_URL' };
    const problem = new ApiClient(target, { fetch: fakeFetch(409, '{"detail":"already discarded"}').fn });
    await expect(problem.post('/dead-letters/1/discard', {})).rejects.toThrow(new CliError('already discarded'));
    const refused = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as unknown as typeof fetch;
    await expect(new ApiClient(target, { fetch: refused }).get('/dead-letters')).rejects.toThrow(
      /not reachable \(connection refused\)/,
    );
    await expect(new ApiClient(target, { fetch: fakeFetch(200, 'hello').fn }).get('/x')).rejects.toThrow(
      /without a JSON object: is it the saga API\?/,
    );
  });
});
