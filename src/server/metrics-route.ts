import type { FastifyInstance } from 'fastify';

/** What GET /metrics serves: the text exposition and its content type (ReflexMetrics). */
export interface MetricsExposition {
  contentType: string;
  text(): Promise<string>;
}

/**
 * GET /metrics in the Prometheus text format. Its guard is app.ts's (route config `metrics`):
 * server.metricsAuth when set, else server.apiAuth as for the rest of the API.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: MetricsExposition): void {
  app.get('/metrics', { config: { metrics: true } }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
}
