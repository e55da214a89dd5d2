import { Type, type ClusterConnector } from '../../../src/sdk/index.js';
import { KAFKA_CONNECTION_SCHEMA, type KafkaConnection } from '../../kafka/connection.js';
import { KafkaClusterEngine } from './engine.js';

/** `cluster.kafka`: many reflex instances sharing the work through Kafka (see engine.ts). */
export const kafkaCluster: ClusterConnector = {
  type: 'kafka',
  configSchema: Type.Object({ ...KAFKA_CONNECTION_SCHEMA }, { additionalProperties: false }) as unknown as Record<string, unknown>,
  async start(connection, context) {
    const engine = new KafkaClusterEngine(connection as KafkaConnection, context);
    try {
      await engine.start();
    } catch (err) {
      await engine.stop().catch(() => undefined);
      throw err;
    }
    return engine;
  },
};
