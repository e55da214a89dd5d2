import type { FastifyInstance } from 'fastify';
import type { RecentExchanges } from '../pipeline/recent-exchanges.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { pageLimit } from './paging.js';

/** The exchanges ingest holds in memory (the console's stream page and playground read them), as the active specs see them. */
export function registerExchangeRoutes(app: FastifyInstance, recent: RecentExchanges, specs: () => CompiledSpecSet): void {
  const notHeld = (id: string) => ({ error: `exchange ${id} is not held: reflex keeps only the exchanges of the last ingested batches in memory (none from before a restart)` });

  app.get<{ Querystring: { limit?: string } }>('/exchanges/recent', async (request) => recent.list(specs(), pageLimit(request.query.limit)));

  app.get<{ Params: { requestId: string } }>('/exchanges/:requestId', async (request, reply) => {
    return recent.find(specs(), request.params.requestId) ?? reply.code(404).send(notHeld(request.params.requestId));
  });
}
