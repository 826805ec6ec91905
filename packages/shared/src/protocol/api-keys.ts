/** @module Api keys of every exchange and the protocol versions this code speaks. */

export const ApiKeys = {
  HELLO: 0,
  METADATA: 1,
  CREATE_TOPIC: 2,
  DELETE_TOPIC: 3,
  INIT_PRODUCER_ID: 4,
  PRODUCE: 5,
  FETCH: 6,
  LIST_OFFSETS: 7,
  SUBSCRIBE: 8,
  UNSUBSCRIBE: 9,
  CREDIT: 10,
  /** Server → client only: records or the end of a subscription. correlationId is 0. */
  PUSH: 11,
  PING: 12,
  /**
   * Broker → broker only, one-way (correlationId 0, no response): a batch of controller Raft messages. Accepted only
   * on a connection whose hello named it a cluster peer.
   */
  RAFT_MESSAGE: 13,
  /** Broker → broker: where a leader epoch ends on the partition leader (a follower's truncation point). */
  OFFSET_FOR_LEADER_EPOCH: 14,
  /** Broker → active controller (over a cluster-peer connection): register a broker process, get its broker epoch. */
  BROKER_REGISTRATION: 15,
  /** Broker → active controller (over a cluster-peer connection): renew the session, learn whether it is fenced. */
  BROKER_HEARTBEAT: 16,
  /** Broker → active controller (over a cluster-peer connection): a block of producer ids from the metadata log. */
  ALLOCATE_PRODUCER_IDS: 17,
  /** Partition leader → active controller (over a cluster-peer connection): change the partition's ISR. */
  ALTER_PARTITION: 18,
  /** Broker-only node → a controller voter (over a cluster-peer connection): committed metadata after an offset (long poll). */
  FETCH_METADATA: 19,
  /** Client → broker: a fresh token on a live connection, before the current one expires (same subject). */
  REAUTHENTICATE: 20,
  /** Client → any broker: which broker coordinates a consumer group (the leader of its `__consumer_offsets` partition). */
  FIND_COORDINATOR: 21,
  /** Group member → its group's coordinator: join, heartbeat, leave; answered with the member's epoch and assignment (KIP-848). */
  CONSUMER_GROUP_HEARTBEAT: 22,
  /** Group member or admin → coordinator: store committed offsets in `__consumer_offsets`. */
  OFFSET_COMMIT: 23,
  /** Group member or admin → coordinator: read committed offsets. */
  OFFSET_FETCH: 24,
  /** Client → a broker: the groups it coordinates. */
  LIST_GROUPS: 25,
  /** Client → coordinator: a group's members, assignments, committed offsets and lag. */
  DESCRIBE_GROUPS: 26,
} as const

export type ApiKey = (typeof ApiKeys)[keyof typeof ApiKeys]

/** Versions are negotiated once per connection, in hello; every later frame carries the agreed version. */
export const MIN_PROTOCOL_VERSION = 1
export const MAX_PROTOCOL_VERSION = 1

export function apiKeyName(apiKey: number): string {
  for (const [name, value] of Object.entries(ApiKeys)) if (value === apiKey) return name
  return `API_${apiKey}`
}
