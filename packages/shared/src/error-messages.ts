/**
 * @module The one wording of each error condition that the broker, its REST API, the SDK and the CLI report:
 * every place that detects the condition builds its message here, so a user reads the same sentence wherever
 * the condition is found (`topic "nope" does not exist`).
 */

const quote = (topic: string) => JSON.stringify(topic)

export const ErrorMessages = {
  /** UNKNOWN_TOPIC_OR_PARTITION for a topic. */
  unknownTopic: (topic: string) => `topic ${quote(topic)} does not exist`,
  /** UNKNOWN_TOPIC_OR_PARTITION for a partition of an existing topic: `topic "orders" has 3 partitions (0–2); there is no partition 9`. */
  unknownPartition: (topic: string, partitionCount: number, partition: unknown) =>
    `topic ${quote(topic)} has ${partitionCount} partition${partitionCount === 1 ? ' (0)' : `s (0–${partitionCount - 1})`}; there is no partition ${String(partition)}`,
  /** OFFSET_OUT_OF_RANGE, naming the topic-partition and its readable range. */
  offsetOutOfRange: (topic: string, partition: number, offset: number, logStartOffset: number, logEndOffset: number) =>
    `offset ${offset} is outside the readable range [${logStartOffset}, ${logEndOffset}] of topic ${quote(topic)} partition ${partition}`,
  /** TOPIC_ALREADY_EXISTS. */
  topicExists: (topic: string) => `topic ${quote(topic)} already exists`,
  /** TOPIC_DELETED. */
  topicDeleted: (topic: string) => `topic ${quote(topic)} was deleted`,
  /** INVALID_PARTITIONS: `partitions must be an integer from 1 to 1000, got 5000`. */
  invalidPartitions: (maxPartitionsPerTopic: number, got: unknown) =>
    `partitions must be an integer from 1 to ${maxPartitionsPerTopic}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`,
  /** TOPIC_AUTHORIZATION_FAILED: `principal "bob" may not write topic "chatroom"`. */
  topicNotAuthorized: (principal: string, operation: string, topic: string) => `principal ${quote(principal)} may not ${operation} topic ${quote(topic)}`,
  /** CLUSTER_AUTHORIZATION_FAILED for a cluster operation (admin). */
  clusterNotAuthorized: (principal: string, what: string) => `principal ${quote(principal)} may not ${what}: it needs the admin right`,
  /** INVALID_PRODUCER_ID_MAPPING: the same words whether or not the id exists (they must not tell another principal which ids do). */
  producerIdNotOwned: (principal: string, producerId: number) =>
    `producer id ${producerId} was not given to principal ${quote(principal)}; ask for your own with initProducerId (producerId -1)`,
  /** A cluster node's data directory started as a single node (which would delete its replicas: they have no topic.json). */
  clusterDataDirAsSingleNode: (dataDir: string, holds: { readonly controllerLog: boolean; readonly replicaTopics: number }) =>
    `data directory ${dataDir} holds a cluster node's data (${[holds.controllerLog ? 'a controller log' : '', holds.replicaTopics > 0 ? `replicas of ${holds.replicaTopics} topic${holds.replicaTopics === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ')}); start it with the --node-id and --controllers it belongs to, or give the single node another --data directory`,
  /** A single node's data directory started as a cluster node (which would delete its topics: no metadata assigns them). */
  singleNodeDataDirAsCluster: (dataDir: string, topics: readonly string[]) =>
    `data directory ${dataDir} holds a single node's topics (${topics.slice(0, 5).map(quote).join(', ')}${topics.length > 5 ? `, … ${topics.length} in all` : ''}); start it without --node-id and --controllers, or give the cluster node another --data directory`,
} as const
