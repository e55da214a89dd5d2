import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { clusterFactory } from '../../connectors/cluster/kafka/positions.js';

// Named consumers' commits in cluster mode go straight to the group coordinator through kafkajs'
// private cluster factory (admin.setOffsets takes seconds per commit). The fallback is only for a
// kafkajs that moved it: an upgrade that does must fail here, not degrade unnoticed.
describe('the direct commit path of named consumers', () => {
  it("finds kafkajs' cluster factory in the installed kafkajs, and it makes a cluster with a group coordinator lookup", () => {
    const create = clusterFactory(new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING }));
    expect(create).not.toBeNull();
    const cluster = create!({ allowAutoTopicCreation: false });
    expect(typeof cluster.findGroupCoordinator).toBe('function');
    expect(typeof cluster.connect).toBe('function');
  });
});
