import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** dist/console, built by `npm run build` (scripts/build-console.mjs), from src/server/ (tsx) or dist/src/server/. */
export function consoleFolder(): string | null {
  const folder = ['../../dist/console/', '../../console/']
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((dir) => existsSync(`${dir}index.html`) && existsSync(`${dir}main.js`));
  return folder ?? null;
}

/**
 * The web console at /console/: static files of the built app, behind the same guard as the API
 * (registered on the app, so server.apiAuth applies). Its file names carry no hash, so every answer
 * is revalidated (ETag, 304); the CSP allows only the console's own scripts and styles.
 */
export function registerConsoleAssets(app: FastifyInstance, folder: string | null = consoleFolder()): void {
  app.get('/console', async (_request, reply) => reply.redirect('/console/', 308));
  if (!folder) {
    app.get('/console/*', async (_request, reply) =>
      reply.code(503).send({ error: 'the console is not built in this installation: run `npm run build`' }));
    return;
  }
  void app.register(fastifyStatic, {
    root: folder,
    prefix: '/console/',
    index: 'index.html',
    cacheControl: false,
    setHeaders: (reply) => {
      reply.header('cache-control', 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    },
  });
}
