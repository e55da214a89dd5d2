import type { SinkContract } from '../../../src/sdk/index.js';
import { topicFor } from './topic.js';

const BINDING_VERSION = '0.5.0';

interface KafkaSinkSettings {
  brokers: string[];
  topic: string;
  mode: 'binary' | 'structured';
  partitions: number;
  replicationFactor: number;
  topicConfig?: Record<string, string> | undefined;
}

/** The kafka sink in the AsyncAPI document: a topic per stream, Kafka bindings as the sink creates the topics. */
export function kafkaContract(config: KafkaSinkSettings): SinkContract {
  return {
    server: { host: config.brokers[0]!, protocol: 'kafka', description: `bootstrap brokers: ${config.brokers.join(', ')}` },
    layout: 'channel',
    address: (stream) => topicFor(config.topic, stream!),
    mode: config.mode,
    headerPrefix: 'ce_',
    changeRecords: 'record',
    channelBindings: (stream, changelog) => ({
      kafka: {
        topic: topicFor(config.topic, stream),
        partitions: config.partitions,
        replicas: config.replicationFactor,
        topicConfiguration: topicConfiguration(changelog, config.topicConfig ?? {}),
        bindingVersion: BINDING_VERSION,
      },
    }),
    messageBindings: {
      kafka: { key: { type: 'string', description: 'the event subject (the resource key); a change record\'s key' }, bindingVersion: BINDING_VERSION },
    },
  };
}

/** What the sink sets when it creates a topic, in the binding's terms (the keys it knows). */
function topicConfiguration(changelog: boolean, extra: Record<string, string>): Record<string, unknown> {
  const merged: Record<string, string> = { ...(changelog ? { 'cleanup.policy': 'compact' } : {}), ...extra };
  const out: Record<string, unknown> = { 'cleanup.policy': (merged['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim()) };
  for (const key of ['retention.ms', 'retention.bytes', 'delete.retention.ms', 'max.message.bytes']) {
    if (merged[key] !== undefined && /^-?\d+$/.test(merged[key])) out[key] = Number(merged[key]);
  }
  return out;
}
