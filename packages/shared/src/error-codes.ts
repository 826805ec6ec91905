/**
 * @module The default wording of every error of the table in errors.ts, by name (`ErrorCodes.NOT_LEADER_OR_FOLLOWER`):
 * what `new SamsaError(ErrorCodes.X)` says when its caller has nothing more precise. Kept apart from the table so a
 * bundle that never shows a default wording (the browser SDK) does not carry these sentences.
 */
import { errorKind, errorKindByCode, type ErrorName, type ErrorSpec } from './errors.js'

const spec = <N extends ErrorName>(name: N, message: string): ErrorSpec & { readonly name: N } => ({ ...errorKind(name), name, message })

export const ErrorCodes = {
  UNKNOWN_SERVER_ERROR: spec('UNKNOWN_SERVER_ERROR', 'The broker hit an unexpected error while handling the request.'),
  NONE: spec('NONE', 'No error.'),
  OFFSET_OUT_OF_RANGE: spec('OFFSET_OUT_OF_RANGE', 'The requested offset is outside the range [logStartOffset, logEndOffset] of the partition.'),
  CORRUPT_MESSAGE: spec('CORRUPT_MESSAGE', 'The record batch failed its CRC or length checks.'),
  UNKNOWN_TOPIC_OR_PARTITION: spec('UNKNOWN_TOPIC_OR_PARTITION', 'The topic or partition does not exist on this broker.'),
  LEADER_NOT_AVAILABLE: spec('LEADER_NOT_AVAILABLE', 'The partition has no leader at the moment.'),
  NOT_LEADER_OR_FOLLOWER: spec('NOT_LEADER_OR_FOLLOWER', 'This broker is not the leader of the partition.'),
  REQUEST_TIMED_OUT: spec('REQUEST_TIMED_OUT', 'The request did not complete within its timeout.'),
  BROKER_NOT_AVAILABLE: spec('BROKER_NOT_AVAILABLE', 'The broker is not registered, or is fenced, in the cluster metadata.'),
  MESSAGE_TOO_LARGE: spec('MESSAGE_TOO_LARGE', 'A record or batch is larger than the broker accepts.'),
  NETWORK_EXCEPTION: spec('NETWORK_EXCEPTION', 'The connection closed before the response arrived.'),
  INVALID_TOPIC_EXCEPTION: spec('INVALID_TOPIC_EXCEPTION', 'Topic names are 1-249 characters of [a-zA-Z0-9._-] and not "." or "..".'),
  COORDINATOR_LOAD_IN_PROGRESS: spec('COORDINATOR_LOAD_IN_PROGRESS', 'The group coordinator is still loading the group\'s state from its __consumer_offsets partition.'),
  COORDINATOR_NOT_AVAILABLE: spec('COORDINATOR_NOT_AVAILABLE', 'The group\'s coordinator is not available: its __consumer_offsets partition has no leader yet.'),
  NOT_COORDINATOR: spec('NOT_COORDINATOR', 'This broker is not the coordinator of the group; find the coordinator again.'),
  NOT_ENOUGH_REPLICAS: spec('NOT_ENOUGH_REPLICAS', 'Fewer in-sync replicas than min.insync.replicas.'),
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: spec('NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'The batch was written, but the ISR fell below min.insync.replicas before every in-sync replica had it; resend it with the same sequence.'),
  INVALID_GROUP_ID: spec('INVALID_GROUP_ID', 'Group ids are 1-249 printable characters.'),
  UNKNOWN_MEMBER_ID: spec('UNKNOWN_MEMBER_ID', 'The group has no member with this id.'),
  INVALID_REQUIRED_ACKS: spec('INVALID_REQUIRED_ACKS', 'acks must be -1 (all), 1 (leader) or 0 (none).'),
  TOPIC_AUTHORIZATION_FAILED: spec('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access the topic.'),
  GROUP_AUTHORIZATION_FAILED: spec('GROUP_AUTHORIZATION_FAILED', 'Not authorized to access the consumer group.'),
  CLUSTER_AUTHORIZATION_FAILED: spec('CLUSTER_AUTHORIZATION_FAILED', 'The connection is not a cluster peer: it may not send broker-to-broker frames.'),
  INVALID_PRODUCER_ID_MAPPING: spec('INVALID_PRODUCER_ID_MAPPING', 'The producer id belongs to another principal.'),
  SASL_AUTHENTICATION_FAILED: spec('SASL_AUTHENTICATION_FAILED', 'Authentication failed: the token is missing, malformed, expired, not yet valid, or not signed by a trusted key.'),
  THROTTLING_QUOTA_EXCEEDED: spec('THROTTLING_QUOTA_EXCEEDED', 'A quota of this principal or address was exceeded; retry after the throttle time.'),
  UNSUPPORTED_VERSION: spec('UNSUPPORTED_VERSION', 'The protocol version is not supported by this broker.'),
  TOPIC_ALREADY_EXISTS: spec('TOPIC_ALREADY_EXISTS', 'A topic with this name already exists.'),
  INVALID_PARTITIONS: spec('INVALID_PARTITIONS', 'The partition count must be an integer between 1 and the broker maximum.'),
  INVALID_REPLICATION_FACTOR: spec('INVALID_REPLICATION_FACTOR', 'The replication factor must be at least 1 and at most the number of live (unfenced) brokers.'),
  INVALID_CONFIG: spec('INVALID_CONFIG', 'A topic configuration value is out of its range.'),
  NOT_CONTROLLER: spec('NOT_CONTROLLER', 'This node is not the active controller, or lost that role before the request completed.'),
  INVALID_REQUEST: spec('INVALID_REQUEST', 'The request is well-formed but not valid.'),
  POLICY_VIOLATION: spec('POLICY_VIOLATION', 'The request would pass a limit of this broker (for example maxTopics or maxPartitions).'),
  OUT_OF_ORDER_SEQUENCE_NUMBER: spec('OUT_OF_ORDER_SEQUENCE_NUMBER', 'The batch sequence number does not follow the last one the broker has for this producer.'),
  INVALID_PRODUCER_EPOCH: spec('INVALID_PRODUCER_EPOCH', 'The producer epoch is older than the current one: another instance has taken over this producer id.'),
  NON_EMPTY_GROUP: spec('NON_EMPTY_GROUP', 'The group has members: stop them (or wait for their session timeout) before changing its offsets.'),
  GROUP_ID_NOT_FOUND: spec('GROUP_ID_NOT_FOUND', 'The group has no members and no committed offsets.'),
  GROUP_MAX_SIZE_REACHED: spec('GROUP_MAX_SIZE_REACHED', 'The group has reached its maximum number of members.'),
  FENCED_INSTANCE_ID: spec('FENCED_INSTANCE_ID', 'Another member with the same group instance id has taken its place.'),
  FENCED_MEMBER_EPOCH: spec('FENCED_MEMBER_EPOCH', 'The member epoch is not the member\'s current one, or the member was removed: drop the partitions and rejoin.'),
  UNRELEASED_INSTANCE_ID: spec('UNRELEASED_INSTANCE_ID', 'The group instance id is held by a live member of the group.'),
  UNSUPPORTED_ASSIGNOR: spec('UNSUPPORTED_ASSIGNOR', 'The coordinator has no assignor with this name.'),
  STALE_MEMBER_EPOCH: spec('STALE_MEMBER_EPOCH', 'The member epoch is older than the member\'s current one: retry after the next heartbeat.'),
  UNKNOWN_LEADER_EPOCH: spec('UNKNOWN_LEADER_EPOCH', 'The leader epoch in the request is newer than the one this node knows.'),
  STALE_BROKER_EPOCH: spec('STALE_BROKER_EPOCH', 'The broker epoch is not the current registration\'s: a newer process of this broker has registered.'),
  KAFKA_STORAGE_ERROR: spec('KAFKA_STORAGE_ERROR', 'The broker could not write or sync the partition log (for example, the disk is full).'),
  UNKNOWN_PRODUCER_ID: spec('UNKNOWN_PRODUCER_ID', 'The broker has no state for this producer id.'),
  FENCED_LEADER_EPOCH: spec('FENCED_LEADER_EPOCH', 'The leader epoch given is older than the partition\'s current one; refresh metadata.'),
  INVALID_RECORD: spec('INVALID_RECORD', 'A record in the batch is not valid.'),
  INVALID_UPDATE_VERSION: spec('INVALID_UPDATE_VERSION', 'The partition epoch in the request is not the current one: the partition changed since the request was built.'),
  DUPLICATE_BROKER_REGISTRATION: spec('DUPLICATE_BROKER_REGISTRATION', 'Another live process holds this broker id; it can register once that session expires or is fenced.'),
  BROKER_ID_NOT_REGISTERED: spec('BROKER_ID_NOT_REGISTERED', 'The broker id is not registered with the controller.'),
  INELIGIBLE_REPLICA: spec('INELIGIBLE_REPLICA', 'A replica added to the ISR is fenced, unregistered or shutting down.'),
  INCONSISTENT_CLUSTER_ID: spec('INCONSISTENT_CLUSTER_ID', 'The peer belongs to another cluster (its cluster id differs).'),
  // Samsa's own codes start at 1000.
  HELLO_REQUIRED: spec('HELLO_REQUIRED', 'The first request on a connection must be hello.'),
  UNKNOWN_API_KEY: spec('UNKNOWN_API_KEY', 'The request names an api key this broker does not know.'),
  TOO_MANY_SUBSCRIPTIONS: spec('TOO_MANY_SUBSCRIPTIONS', 'The connection has reached its maximum number of subscriptions.'),
  UNKNOWN_SUBSCRIPTION: spec('UNKNOWN_SUBSCRIPTION', 'No subscription with this id exists on the connection.'),
  BROKER_SHUTTING_DOWN: spec('BROKER_SHUTTING_DOWN', 'The broker is shutting down.'),
  TOPIC_DELETED: spec('TOPIC_DELETED', 'The topic was deleted while the request was in flight.'),
  TOO_MANY_REQUESTS: spec('TOO_MANY_REQUESTS', 'The connection has too many requests awaiting a response; retry once some are answered.'),
  DUPLICATE_SEQUENCE_CONFLICT: spec('DUPLICATE_SEQUENCE_CONFLICT', 'The batch reuses a producer id, epoch and sequence already appended with different records; it was not appended.'),
  RESPONSE_TOO_LARGE: spec('RESPONSE_TOO_LARGE', 'The answer would exceed the broker\'s maxResponseBytes; ask for fewer topics.'),
} as const satisfies { readonly [N in ErrorName]: ErrorSpec & { readonly name: N } }

const isName = (name: string): name is ErrorName => Object.hasOwn(ErrorCodes, name)

/** The spec of an error code, with its wording; a code outside the table is a non-retriable `UNKNOWN_ERROR_<code>`. */
export function errorByCode(code: number): ErrorSpec {
  const kind = errorKindByCode(code)
  return isName(kind.name) ? ErrorCodes[kind.name] : { ...kind, message: `Unknown error code ${code}.` }
}
