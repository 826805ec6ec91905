/** @module The one error table shared by broker and clients; codes reuse Kafka's where the meaning is the same and are never reused. */

export interface ErrorSpec {
  readonly code: number
  readonly name: string
  /** Clients decide whether to retry from this flag and nothing else. */
  readonly retriable: boolean
  readonly message: string
}

const spec = (code: number, name: string, retriable: boolean, message: string): ErrorSpec => ({ code, name, retriable, message })

export const ErrorCodes = {
  UNKNOWN_SERVER_ERROR: spec(-1, 'UNKNOWN_SERVER_ERROR', false, 'The broker hit an unexpected error while handling the request.'),
  NONE: spec(0, 'NONE', false, 'No error.'),
  OFFSET_OUT_OF_RANGE: spec(1, 'OFFSET_OUT_OF_RANGE', false, 'The requested offset is outside the range [logStartOffset, logEndOffset] of the partition.'),
  CORRUPT_MESSAGE: spec(2, 'CORRUPT_MESSAGE', true, 'The record batch failed its CRC or length checks.'),
  UNKNOWN_TOPIC_OR_PARTITION: spec(3, 'UNKNOWN_TOPIC_OR_PARTITION', false, 'The topic or partition does not exist on this broker.'),
  LEADER_NOT_AVAILABLE: spec(5, 'LEADER_NOT_AVAILABLE', true, 'The partition has no leader at the moment.'),
  NOT_LEADER_OR_FOLLOWER: spec(6, 'NOT_LEADER_OR_FOLLOWER', true, 'This broker is not the leader of the partition.'),
  REQUEST_TIMED_OUT: spec(7, 'REQUEST_TIMED_OUT', true, 'The request did not complete within its timeout.'),
  BROKER_NOT_AVAILABLE: spec(8, 'BROKER_NOT_AVAILABLE', false, 'The broker is not registered, or is fenced, in the cluster metadata.'),
  MESSAGE_TOO_LARGE: spec(10, 'MESSAGE_TOO_LARGE', false, 'A record or batch is larger than the broker accepts.'),
  NETWORK_EXCEPTION: spec(13, 'NETWORK_EXCEPTION', true, 'The connection closed before the response arrived.'),
  INVALID_TOPIC_EXCEPTION: spec(17, 'INVALID_TOPIC_EXCEPTION', false, 'Topic names are 1-249 characters of [a-zA-Z0-9._-] and not "." or "..".'),
  COORDINATOR_LOAD_IN_PROGRESS: spec(14, 'COORDINATOR_LOAD_IN_PROGRESS', true, 'The group coordinator is still loading the group\'s state from its __consumer_offsets partition.'),
  COORDINATOR_NOT_AVAILABLE: spec(15, 'COORDINATOR_NOT_AVAILABLE', true, 'The group\'s coordinator is not available: its __consumer_offsets partition has no leader yet.'),
  NOT_COORDINATOR: spec(16, 'NOT_COORDINATOR', true, 'This broker is not the coordinator of the group; find the coordinator again.'),
  NOT_ENOUGH_REPLICAS: spec(19, 'NOT_ENOUGH_REPLICAS', true, 'Fewer in-sync replicas than min.insync.replicas.'),
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: spec(20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true, 'The batch was written, but the ISR fell below min.insync.replicas before every in-sync replica had it; resend it with the same sequence.'),
  INVALID_GROUP_ID: spec(24, 'INVALID_GROUP_ID', false, 'Group ids are 1-249 printable characters.'),
  UNKNOWN_MEMBER_ID: spec(25, 'UNKNOWN_MEMBER_ID', false, 'The group has no member with this id.'),
  INVALID_REQUIRED_ACKS: spec(21, 'INVALID_REQUIRED_ACKS', false, 'acks must be -1 (all), 1 (leader) or 0 (none).'),
  TOPIC_AUTHORIZATION_FAILED: spec(29, 'TOPIC_AUTHORIZATION_FAILED', false, 'Not authorized to access the topic.'),
  GROUP_AUTHORIZATION_FAILED: spec(30, 'GROUP_AUTHORIZATION_FAILED', false, 'Not authorized to access the consumer group.'),
  CLUSTER_AUTHORIZATION_FAILED: spec(31, 'CLUSTER_AUTHORIZATION_FAILED', false, 'The connection is not a cluster peer: it may not send broker-to-broker frames.'),
  INVALID_PRODUCER_ID_MAPPING: spec(49, 'INVALID_PRODUCER_ID_MAPPING', false, 'The producer id belongs to another principal.'),
  SASL_AUTHENTICATION_FAILED: spec(58, 'SASL_AUTHENTICATION_FAILED', false, 'Authentication failed: the token is missing, malformed, expired, not yet valid, or not signed by a trusted key.'),
  THROTTLING_QUOTA_EXCEEDED: spec(89, 'THROTTLING_QUOTA_EXCEEDED', true, 'A quota of this principal or address was exceeded; retry after the throttle time.'),
  UNSUPPORTED_VERSION: spec(35, 'UNSUPPORTED_VERSION', false, 'The protocol version is not supported by this broker.'),
  TOPIC_ALREADY_EXISTS: spec(36, 'TOPIC_ALREADY_EXISTS', false, 'A topic with this name already exists.'),
  INVALID_PARTITIONS: spec(37, 'INVALID_PARTITIONS', false, 'The partition count must be an integer between 1 and the broker maximum.'),
  INVALID_REPLICATION_FACTOR: spec(38, 'INVALID_REPLICATION_FACTOR', false, 'The replication factor must be at least 1 and at most the number of live (unfenced) brokers.'),
  INVALID_CONFIG: spec(40, 'INVALID_CONFIG', false, 'A topic configuration value is out of its range.'),
  NOT_CONTROLLER: spec(41, 'NOT_CONTROLLER', true, 'This node is not the active controller, or lost that role before the request completed.'),
  INVALID_REQUEST: spec(42, 'INVALID_REQUEST', false, 'The request is well-formed but not valid.'),
  POLICY_VIOLATION: spec(44, 'POLICY_VIOLATION', false, 'The request would pass a limit of this broker (for example maxTopics or maxPartitions).'),
  OUT_OF_ORDER_SEQUENCE_NUMBER: spec(45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', false, 'The batch sequence number does not follow the last one the broker has for this producer.'),
  INVALID_PRODUCER_EPOCH: spec(47, 'INVALID_PRODUCER_EPOCH', false, 'The producer epoch is older than the current one: another instance has taken over this producer id.'),
  NON_EMPTY_GROUP: spec(68, 'NON_EMPTY_GROUP', false, 'The group has members: stop them (or wait for their session timeout) before changing its offsets.'),
  GROUP_ID_NOT_FOUND: spec(69, 'GROUP_ID_NOT_FOUND', false, 'The group has no members and no committed offsets.'),
  GROUP_MAX_SIZE_REACHED: spec(81, 'GROUP_MAX_SIZE_REACHED', false, 'The group has reached its maximum number of members.'),
  FENCED_INSTANCE_ID: spec(82, 'FENCED_INSTANCE_ID', false, 'Another member with the same group instance id has taken its place.'),
  FENCED_MEMBER_EPOCH: spec(110, 'FENCED_MEMBER_EPOCH', false, 'The member epoch is not the member\'s current one, or the member was removed: drop the partitions and rejoin.'),
  UNRELEASED_INSTANCE_ID: spec(111, 'UNRELEASED_INSTANCE_ID', false, 'The group instance id is held by a live member of the group.'),
  UNSUPPORTED_ASSIGNOR: spec(112, 'UNSUPPORTED_ASSIGNOR', false, 'The coordinator has no assignor with this name.'),
  STALE_MEMBER_EPOCH: spec(113, 'STALE_MEMBER_EPOCH', false, 'The member epoch is older than the member\'s current one: retry after the next heartbeat.'),
  UNKNOWN_LEADER_EPOCH: spec(75, 'UNKNOWN_LEADER_EPOCH', true, 'The leader epoch in the request is newer than the one this node knows.'),
  STALE_BROKER_EPOCH: spec(77, 'STALE_BROKER_EPOCH', false, 'The broker epoch is not the current registration\'s: a newer process of this broker has registered.'),
  KAFKA_STORAGE_ERROR: spec(56, 'KAFKA_STORAGE_ERROR', true, 'The broker could not write or sync the partition log (for example, the disk is full).'),
  UNKNOWN_PRODUCER_ID: spec(59, 'UNKNOWN_PRODUCER_ID', false, 'The broker has no state for this producer id.'),
  FENCED_LEADER_EPOCH: spec(74, 'FENCED_LEADER_EPOCH', true, 'The leader epoch given is older than the partition\'s current one; refresh metadata.'),
  INVALID_RECORD: spec(87, 'INVALID_RECORD', false, 'A record in the batch is not valid.'),
  INVALID_UPDATE_VERSION: spec(95, 'INVALID_UPDATE_VERSION', false, 'The partition epoch in the request is not the current one: the partition changed since the request was built.'),
  DUPLICATE_BROKER_REGISTRATION: spec(101, 'DUPLICATE_BROKER_REGISTRATION', false, 'Another live process holds this broker id; it can register once that session expires or is fenced.'),
  BROKER_ID_NOT_REGISTERED: spec(102, 'BROKER_ID_NOT_REGISTERED', false, 'The broker id is not registered with the controller.'),
  INELIGIBLE_REPLICA: spec(107, 'INELIGIBLE_REPLICA', false, 'A replica added to the ISR is fenced, unregistered or shutting down.'),
  INCONSISTENT_CLUSTER_ID: spec(104, 'INCONSISTENT_CLUSTER_ID', false, 'The peer belongs to another cluster (its cluster id differs).'),
  // Samsa's own codes start at 1000.
  HELLO_REQUIRED: spec(1000, 'HELLO_REQUIRED', false, 'The first request on a connection must be hello.'),
  UNKNOWN_API_KEY: spec(1001, 'UNKNOWN_API_KEY', false, 'The request names an api key this broker does not know.'),
  TOO_MANY_SUBSCRIPTIONS: spec(1002, 'TOO_MANY_SUBSCRIPTIONS', false, 'The connection has reached its maximum number of subscriptions.'),
  UNKNOWN_SUBSCRIPTION: spec(1003, 'UNKNOWN_SUBSCRIPTION', false, 'No subscription with this id exists on the connection.'),
  BROKER_SHUTTING_DOWN: spec(1004, 'BROKER_SHUTTING_DOWN', true, 'The broker is shutting down.'),
  TOPIC_DELETED: spec(1005, 'TOPIC_DELETED', false, 'The topic was deleted while the request was in flight.'),
  TOO_MANY_REQUESTS: spec(1006, 'TOO_MANY_REQUESTS', true, 'The connection has too many requests awaiting a response; retry once some are answered.'),
  DUPLICATE_SEQUENCE_CONFLICT: spec(1007, 'DUPLICATE_SEQUENCE_CONFLICT', false, 'The batch reuses a producer id, epoch and sequence already appended with different records; it was not appended.'),
  RESPONSE_TOO_LARGE: spec(1008, 'RESPONSE_TOO_LARGE', false, 'The answer would exceed the broker\'s maxResponseBytes; ask for fewer topics.'),
} as const satisfies Record<string, ErrorSpec>

export type ErrorName = keyof typeof ErrorCodes

const byCode = new Map<number, ErrorSpec>(Object.values(ErrorCodes).map((e) => [e.code, e]))

export function errorByCode(code: number): ErrorSpec {
  return byCode.get(code) ?? { code, name: `UNKNOWN_ERROR_${code}`, retriable: false, message: `Unknown error code ${code}.` }
}

export type ErrorDetails = Readonly<Record<string, number>>

/** An error that travels on the wire: a code from the table, a human message and numeric details. */
export class SamsaError extends Error {
  readonly code: number
  readonly errorName: string
  readonly retriable: boolean
  readonly details: ErrorDetails

  constructor(error: ErrorSpec | ErrorName, message?: string, details: ErrorDetails = {}) {
    const e = typeof error === 'string' ? ErrorCodes[error] : error
    super(message ?? e.message)
    this.name = 'SamsaError'
    this.code = e.code
    this.errorName = e.name
    this.retriable = e.retriable
    this.details = details
  }

  static fromCode(code: number, message?: string, details?: ErrorDetails): SamsaError {
    return new SamsaError(errorByCode(code), message, details)
  }
}

/** Thrown by every decoder for bytes that cannot be parsed; never anything else. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}
