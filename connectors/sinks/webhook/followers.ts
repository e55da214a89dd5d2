import { webhookOwner, type FollowerRegistry, type LogReader } from '../../../src/sdk/index.js';
import type { FanOut } from './fan-out.js';
import type { StoredEndpoint, WebhookStore } from './store.js';

/**
 * Each endpoint is a follower of the log under its own subscription (`webhook:<id>`): its fan-out
 * cursor holds back retention of the streams it takes, enabled or not (a disabled endpoint's
 * events wait for it). Endpoints of reflex.yaml also hold back ingest past their sink block's
 * maxBacklog; endpoints registered over the API never do.
 */
export class EndpointFollowers {
  private readonly endpoints = new Map<string, { endpoint: StoredEndpoint; unregister: () => void }>();
  private readonly maxBacklogs = new Map<string, number>();

  constructor(
    private readonly log: LogReader,
    private readonly store: WebhookStore,
    private readonly fanOut: FanOut,
    private readonly registry: FollowerRegistry | undefined,
  ) {}

  /** The backlog past which `id` refuses ingest. */
  limit(id: string, maxBacklog: number): void {
    this.maxBacklogs.set(id, maxBacklog);
  }

  /** Registers the endpoint, or takes its new settings (streams) when it is registered already. */
  follow(endpoint: StoredEndpoint): void {
    const known = this.endpoints.get(endpoint.id);
    if (known) {
      known.endpoint = endpoint;
      return;
    }
    const entry = { endpoint, unregister: () => {} };
    this.endpoints.set(endpoint.id, entry);
    if (!this.registry) return;
    const streams = () => this.fanOut.streamsOf(entry.endpoint);
    const maxBacklogs = this.maxBacklogs;
    entry.unregister = this.registry.register({
      owner: webhookOwner(endpoint.id),
      label: `webhook '${endpoint.id}'`,
      streams,
      // Read when checked: endpoints of an earlier run are followed before reflex.yaml declares them.
      get maxBacklog() {
        return maxBacklogs.get(endpoint.id) ?? Number.POSITIVE_INFINITY;
      },
      backlog: () => {
        let total = 0;
        for (const stream of streams()) total += this.log.lastOffset(stream) - (this.store.cursor(endpoint.id, stream) ?? 0);
        return total;
      },
    });
  }

  unfollow(id: string): void {
    this.endpoints.get(id)?.unregister();
    this.endpoints.delete(id);
  }
}
