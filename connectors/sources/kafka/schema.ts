import { Default, Type } from '../../../src/sdk/index.js';
import { KAFKA_CONNECTION_SCHEMA } from '../../kafka/connection.js';

/** The `sources:` block of `type: kafka` besides `name` and `format` (the host validates it before create). */
export const KafkaSourceConfig = Type.Object({
  brokers: KAFKA_CONNECTION_SCHEMA.brokers,
  topics: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'topics to consume (or topicPattern, not both)' })),
  topicPattern: Type.Optional(Type.String({ minLength: 1, description: 'regular expression for the whole topic name, matched against the topics that exist when the source connects' })),
  groupId: Default(Type.String({ minLength: 1, description: 'consumer group; offsets are committed to it after each batch is stored' }), 'reflex'),
  clientId: KAFKA_CONNECTION_SCHEMA.clientId,
  fromBeginning: Default(Type.Boolean({ description: 'where a group without committed offsets starts: the oldest message, else only new ones' }), true),
  ssl: KAFKA_CONNECTION_SCHEMA.ssl,
  sasl: KAFKA_CONNECTION_SCHEMA.sasl,
}, { additionalProperties: false, oneOf: [{ required: ['topics'] }, { required: ['topicPattern'] }] });
