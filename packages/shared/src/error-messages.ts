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
} as const
