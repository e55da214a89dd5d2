import { validateConnectorBlock } from '../config/connector-config.js';
import type { ConnectorBlock, ReflexConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry.js';
import type { ClusterSinkRunner } from '../sinks/connector.js';
import type { StreamInfo } from '../spec/types.js';
import type { ClusterOutput, ClusterSettings } from './types.js';

export interface ClusterSinks {
  /** `cluster.kafka`, validated by the engine's schema. */
  connection: Record<string, unknown>;
  /** Kafka sinks: written by the partition owners, in their transactions. */
  outputs: ClusterOutput[];
  /** Every other sink: a consumer group of its own over the topics the kafka sinks write. */
  runners: Array<{ name: string; runner: ClusterSinkRunner }>;
}

/**
 * The sinks of reflex.yaml in cluster mode. Kafka sinks become the partition owners' outputs (on the
 * cluster's brokers, since they are written in its transactions); a sink whose connector can run in
 * cluster mode reads its streams back from those topics; any other is refused with its config line.
 */
export function planClusterSinks(
  cluster: ClusterSettings, config: ReflexConfig, registry: Registry, streams: readonly StreamInfo[], logger: Logger,
): ClusterSinks {
  const engine = registry.clusters.get('kafka');
  const kafkaBlock = Object.defineProperty({ type: 'kafka', ...cluster.kafka }, '__location', { value: cluster.kafka.__location, enumerable: false });
  const connection = validateConnectorBlock('cluster', kafkaBlock, engine, registry);
  const outputs: ClusterOutput[] = [];
  const others: Array<{ block: ConnectorBlock; name: string; settings: Record<string, unknown> }> = [];
  const names = new Set<string>();
  for (const block of config.sinks) {
    const connector = registry.sinks.get(block.type);
    const settings = validateConnectorBlock('sink', block, connector, registry);
    const name = connector!.instanceName(settings);
    if (names.has(name)) throw new Error(`two sinks are named '${name}'; give one of them another \`name:\``);
    names.add(name);
    if (block.type === 'kafka') outputs.push(kafkaOutput(cluster, block, name, settings, connector!.streams(settings)));
    else others.push({ block, name, settings });
  }
  const runners = others.map(({ block, name, settings }) => {
    const connector = registry.sinks.get(block.type)!;
    if (!connector.cluster) {
      throw new Error(`${where(block)}sink '${name}': a ${block.type} sink cannot run in cluster mode yet (it follows the local log, which holds no events in cluster mode); kafka, webhook and postgres sinks can`);
    }
    const topics = topicsOf(connector.streams(settings), outputs, streams);
    if (topics.size === 0) {
      throw new Error(`${where(block)}sink '${name}': in cluster mode a ${block.type} sink reads its streams from the topics a kafka sink writes, and no kafka sink writes any of ${JSON.stringify(connector.streams(settings))}`);
    }
    try {
      const runner = connector.cluster(settings, { name, logger: logger.child({ sink: name }), config, kafka: connection, group: `${cluster.group}.sink.${name}`, topics, streams, sessionTimeoutMs: cluster.sessionTimeoutMs });
      return { name, runner };
    } catch (err) {
      throw new Error(`${where(block)}sink '${name}': ${(err as Error).message}`);
    }
  });
  return { connection, outputs, runners };
}

/** Topic → stream for the streams a sink takes, from the first kafka sink that writes each. */
function topicsOf(wanted: string[], outputs: ClusterOutput[], streams: readonly StreamInfo[]): Map<string, string> {
  const topics = new Map<string, string>();
  const all = wanted.includes('*');
  for (const s of streams) {
    if (!all && !wanted.includes(s.name)) continue;
    const output = outputs.find((o) => o.streams.includes('*') || o.streams.includes(s.name));
    if (output) topics.set(String(output.settings.topic ?? '{stream}').replace(/\{stream\}/g, s.name), s.name);
  }
  return topics;
}

function kafkaOutput(cluster: ClusterSettings, block: ConnectorBlock, name: string, settings: Record<string, unknown>, streams: string[]): ClusterOutput {
  const brokers = (list: unknown) => [...(list as string[])].sort().join(',');
  if (brokers(settings.brokers) !== brokers(cluster.kafka.brokers ?? [])) {
    throw new Error(`${where(block)}sink '${name}': in cluster mode a kafka sink must use the brokers of cluster.kafka (${brokers(cluster.kafka.brokers ?? [])}): its topics are written in the cluster's Kafka transactions`);
  }
  return { name, settings, streams };
}

export function where(block: ConnectorBlock): string {
  const at = block.__location;
  return at ? `${at.file}:${at.line ?? 0}:${at.column ?? 0}: ` : '';
}
