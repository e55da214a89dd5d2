import type { ClusterConnector } from './cluster/types.js';
import type { SinkConnector } from './sinks/connector.js';
import type { SourceConnector } from './sources/connector.js';
import type { LogFormat } from './sources/types.js';

/**
 * Maps config `type:` to connector factories and `format:` to log formats. src/ only knows these
 * interfaces; the entry point fills the registry from connectors/.
 */
export interface Registry {
  sources: ReadonlyMap<string, SourceConnector<any>>;
  sinks: ReadonlyMap<string, SinkConnector<any>>;
  formats: ReadonlyMap<string, LogFormat>;
  /** Cluster engines by the key of their block under `cluster:` (`kafka`). */
  clusters: ReadonlyMap<string, ClusterConnector>;
}

export function createRegistry(parts: {
  sources: Array<SourceConnector<any>>;
  sinks: Array<SinkConnector<any>>;
  formats: LogFormat[];
  clusters?: ClusterConnector[];
}): Registry {
  const byKey = <T>(items: T[], key: (t: T) => string, what: string) => {
    const map = new Map<string, T>();
    for (const item of items) {
      const k = key(item);
      if (map.has(k)) throw new Error(`two ${what} are registered as '${k}'`);
      map.set(k, item);
    }
    return map;
  };
  return {
    sources: byKey(parts.sources, (s) => s.type, 'sources'),
    sinks: byKey(parts.sinks, (s) => s.type, 'sinks'),
    formats: byKey(parts.formats, (f) => f.name, 'formats'),
    clusters: byKey(parts.clusters ?? [], (c) => c.type, 'cluster engines'),
  };
}
