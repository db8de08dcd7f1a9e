import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problem, sendProblem } from '../errors';
import { problems } from '../schemas';

/**
 * The operations console: a single page (Preact, bundled by `npm run build:console` into
 * `dist/console/`) served by the API itself, so it needs no other server and no network beyond
 * the API. The page is public; everything it shows comes from the API with the key the
 * operator enters, under the same rules as any client.
 */

/** Where the built assets are, from src/api/console or dist/api/console alike. */
export const CONSOLE_DIR = path.resolve(__dirname, '../../../dist/console');

const ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

// The page loads its own script and style only; the API answers its requests (same origin).
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function consoleRoutes(app: FastifyInstance, options: { dir?: string } = {}): void {
  const dir = options.dir ?? CONSOLE_DIR;
  const read = (file: string): string | undefined => {
    const full = path.join(dir, file);
    return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
  };
  const notBuilt = (instance: string) =>
    problem('unavailable', 'The console is not built: run `npm run build` (or `npm run build:console`)', { instance });

  app.withTypeProvider<ZodTypeProvider>().get(
    '/console',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'The operations console (HTML; it asks for an API key)',
        produces: ['text/html'],
        response: { 200: z.string().describe('The console page'), ...problems(503) },
      },
    },
    async (request, reply) => {
      const html = read('index.html');
      if (!html) return sendProblem(reply, notBuilt(request.url));
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CSP)
        .send(html);
    },
  );
  app.withTypeProvider<ZodTypeProvider>().get(
    '/console/assets/:file',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: "The console's script and style",
        produces: ['text/javascript', 'text/css'],
        params: z.object({ file: z.string().min(1).max(100) }),
        response: { 200: z.string().describe('JavaScript or CSS'), ...problems(404, 503) },
      },
    },
    async (request, reply) => {
      const { file } = request.params;
      const type = ASSETS[file];
      const body = type ? read(file) : undefined;
      if (!type) return sendProblem(reply, problem('not_found', `No console asset ${file}`, { instance: request.url }));
      if (!body) return sendProblem(reply, notBuilt(request.url));
      return reply.header('content-type', type).header('cache-control', 'no-cache').send(body);
    },
  );
}
