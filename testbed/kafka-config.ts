/**
 * Kafka 4.3.1: the newest 4.x whose artifacts are all on Maven Central (4.4.0's kafka_2.13 is there, but its
 * kafka-tools-api dependency is not, so it cannot resolve). kafkajs 2.2.4 works against it: its API versions
 * (Produce v7, Fetch v11, JoinGroup v5, ...) are all still inside 4.x's supported ranges (KIP-896 only removed older ones).
 */
export const KAFKA_VERSION = '4.3.1';
/** Kafka's POM has no logging backend (the release tarball adds one); this is the log4j that kafka-server 4.3.1 uses. */
const LOG4J_VERSION = '2.25.4';

/** Only kafka_2.13 (it brings the server modules) plus log4j-core and the SLF4J 1.7 binding Kafka logs through. */
export function kafkaPom(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>testbed</groupId><artifactId>kafka-broker</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', version)}
${dep('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION)}
${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
  </dependencies>
</project>
`;
}

/**
 * One combined broker+controller on loopback. Static voters (not `--standalone` dynamic quorum) so formatting needs no
 * extra flags; replication factors 1 because the defaults (3) leave __consumer_offsets uncreatable on one node.
 */
export function serverProperties(o: { port: number; controllerPort: number; dataDir: string }): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${o.controllerPort}
listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${o.dataDir}
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
`;
}

/** WARN and up to stderr (the broker log file), plus the "Kafka Server started" line. */
export const LOG4J2_PROPERTIES = `status = warn
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = STDERR
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
`;
