import type { Registry } from '../registry.js';
import type { SinkService, SinkServiceContext } from './connector.js';

/**
 * The process-wide service of each sink connector that has one, by connector type: created whether
 * or not reflex.yaml declares a sink of that type (webhooks registered over the API need theirs).
 */
export function createSinkServices(registry: Registry, context: SinkServiceContext): Map<string, SinkService> {
  const services = new Map<string, SinkService>();
  for (const connector of registry.sinks.values()) {
    const service = connector.service?.(context);
    if (service) services.set(connector.type, service);
  }
  return services;
}
