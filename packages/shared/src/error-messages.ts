/**
 * @module The one wording of each error condition that the broker, its REST API, the SDK and the CLI report:
 * every place that detects the condition builds its message here, so a user reads the same sentence wherever
 * the condition is found (`topic "nope" does not exist`). Each wording is its own export (`unknownTopicMessage`), so a
 * bundle that imports one (the browser SDK) does not carry the broker's; `ErrorMessages` gathers them all by name.
 */

const quote = (topic: string) => JSON.stringify(topic)

/** UNKNOWN_TOPIC_OR_PARTITION for a topic. */
export const unknownTopicMessage = (topic: string) => `topic ${quote(topic)} does not exist`

/** UNKNOWN_TOPIC_OR_PARTITION for a partition of an existing topic: `topic "orders" has 3 partitions (0–2); there is no partition 9`. */
export const unknownPartitionMessage = (topic: string, partitionCount: number, partition: unknown) =>
  `topic ${quote(topic)} has ${partitionCount} partition${partitionCount === 1 ? ' (0)' : `s (0–${partitionCount - 1})`}; there is no partition ${String(partition)}`

/** OFFSET_OUT_OF_RANGE, naming the topic-partition and its readable range. */
export const offsetOutOfRangeMessage = (topic: string, partition: number, offset: number, logStartOffset: number, logEndOffset: number) =>
  `offset ${offset} is outside the readable range [${logStartOffset}, ${logEndOffset}] of topic ${quote(topic)} partition ${partition}`

/** TOPIC_ALREADY_EXISTS. */
export const topicExistsMessage = (topic: string) => `topic ${quote(topic)} already exists`

/** POLICY_VIOLATION: an append (over any protocol) to a Durable Stream that was closed. */
export const streamClosedMessage = (topic: string) => `stream ${quote(topic)} is closed: nothing more can be appended to it`

/** TOPIC_DELETED. */
export const topicDeletedMessage = (topic: string) => `topic ${quote(topic)} was deleted`

/** INVALID_PARTITIONS: `partitions must be an integer from 1 to 1000, got 5000`. */
export const invalidPartitionsMessage = (maxPartitionsPerTopic: number, got: unknown) =>
  `partitions must be an integer from 1 to ${maxPartitionsPerTopic}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`

/** THROTTLING_QUOTA_EXCEEDED for a topic creation (retriable after retryAfterMs). */
export const topicCreationsThrottledMessage = (principal: string, perMinute: number, retryAfterMs: number) =>
  `${principal} may create ${perMinute} topics per minute (topicCreationsPerMinutePerPrincipal); retry in ${retryAfterMs} ms`

/** Close reason (QUOTA_EXCEEDED) for a connection past maxConnectionsPerIp or maxConnectionsPerPrincipal. */
export const tooManyConnectionsMessage = (what: 'address' | 'principal', who: string, max: number) =>
  `${who} already has ${max} open connections (maxConnectionsPer${what === 'address' ? 'Ip' : 'Principal'})`

/** Close reason (QUOTA_EXCEEDED) for a connection whose throttle would pass quotaMaxThrottleMs. */
export const quotaThrottleTooLongMessage = (quota: string, throttleMs: number, maxMs: number) =>
  `${quota} quota exceeded: a throttle of ${throttleMs} ms passes quotaMaxThrottleMs (${maxMs})`

/** TOPIC_AUTHORIZATION_FAILED: `principal "bob" may not write topic "chatroom"`. */
export const topicNotAuthorizedMessage = (principal: string, operation: string, topic: string) => `principal ${quote(principal)} may not ${operation} topic ${quote(topic)}`

/** CLUSTER_AUTHORIZATION_FAILED for a cluster operation (admin). */
export const clusterNotAuthorizedMessage = (principal: string, what: string) => `principal ${quote(principal)} may not ${what}: it needs the admin right`

/** INVALID_PRODUCER_ID_MAPPING: the same words whether or not the id exists (they must not tell another principal which ids do). */
export const producerIdNotOwnedMessage = (principal: string, producerId: number) =>
  `producer id ${producerId} was not given to principal ${quote(principal)}; ask for your own with initProducerId (producerId -1)`

/** A cluster node's data directory started as a single node (which would delete its replicas: they have no topic.json). */
export const clusterDataDirAsSingleNodeMessage = (dataDir: string, holds: { readonly controllerLog: boolean; readonly replicaTopics: number }) =>
  `data directory ${dataDir} holds a cluster node's data (${[holds.controllerLog ? 'a controller log' : '', holds.replicaTopics > 0 ? `replicas of ${holds.replicaTopics} topic${holds.replicaTopics === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ')}); start it with the --node-id and --controllers it belongs to, or give the single node another --data directory`

/** A single node's data directory started as a cluster node (which would delete its topics: no metadata assigns them). */
export const singleNodeDataDirAsClusterMessage = (dataDir: string, topics: readonly string[]) =>
  `data directory ${dataDir} holds a single node's topics (${topics.slice(0, 5).map(quote).join(', ')}${topics.length > 5 ? `, … ${topics.length} in all` : ''}); start it without --node-id and --controllers, or give the cluster node another --data directory`

/** A browser request (WebSocket upgrade or REST write) from an origin the broker does not allow (403). */
export const originRefusedMessage = (origin: string) => `requests from the origin ${JSON.stringify(origin)} are not allowed; add it with --allowed-origins`

/** A request whose Host header names no host this broker answers to (DNS rebinding; 421). */
export const hostRefusedMessage = (host: string) => `this broker does not answer to the host ${JSON.stringify(host)}; add it with --allowed-hosts`

/** A REST write whose body is not declared JSON (415). */
export const writeNeedsJsonMessage = (contentType: string | undefined) => `a write needs Content-Type: application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType)}`

/** INVALID_CONFIG for a topic config entry: an unknown name or a value out of its range. */
export const invalidTopicConfigMessage = (name: string, value: string, expected: string) =>
  `topic config ${JSON.stringify(name)} = ${JSON.stringify(value)} is not valid: expected ${expected}`

/** SASL_AUTHENTICATION_FAILED: `authentication failed: the token expired`; `reason` is one of the broker's refusal reasons. */
export const authenticationFailedMessage = (reason: string) => `authentication failed: ${authenticationReasons[reason] ?? reason}`

/** Close reason (1009) where the runtime does not enforce maxFrameBytes itself: `a frame of 3145728 bytes is over maxFrameBytes (2097152)`. */
export const frameTooLargeMessage = (bytes: number, maxFrameBytes: number) => `a frame of ${bytes} bytes is over maxFrameBytes (${maxFrameBytes})`

/** Consumer groups (the coordinator's refusals; the SDK and CLI report the same words). */
export const unknownMemberMessage = (groupId: string, memberId: string) => `group ${quote(groupId)} has no member ${quote(memberId)} (it left or its session timed out)`
export const fencedMemberEpochMessage = (groupId: string, memberId: string, sent: number, current: number) =>
  `member ${quote(memberId)} of group ${quote(groupId)} sent epoch ${sent}, but its epoch is ${current}: drop its partitions and rejoin`
export const staleMemberEpochMessage = (groupId: string, memberId: string, sent: number, current: number) =>
  `member ${quote(memberId)} of group ${quote(groupId)} sent epoch ${sent}, older than its epoch ${current}: retry after the next heartbeat`
export const unreleasedInstanceMessage = (groupId: string, instanceId: string) => `instance id ${quote(instanceId)} of group ${quote(groupId)} is held by a live member`
export const fencedInstanceMessage = (groupId: string, instanceId: string, memberId: string) =>
  `instance id ${quote(instanceId)} of group ${quote(groupId)} belongs to another member than ${quote(memberId)}`
export const groupFullMessage = (groupId: string, maxMembers: number) => `group ${quote(groupId)} has its maximum of ${maxMembers} members`
export const tooManyGroupsMessage = (maxGroups: number) => `this coordinator holds its maximum of ${maxGroups} groups`
export const nonEmptyGroupMessage = (groupId: string, members: number) =>
  `group ${quote(groupId)} has ${members} member${members === 1 ? '' : 's'}: stop them (or wait for their session timeout) before changing its offsets`
export const unsupportedAssignorMessage = (name: string) => `no assignor ${quote(name)}: the coordinator has "uniform" and "range"`
export const invalidGroupIdMessage = (groupId: string) => `group id ${quote(groupId)} is not 1-249 printable characters`
export const notCoordinatorMessage = (groupId: string) => `this broker is not the coordinator of group ${quote(groupId)}; find the coordinator again`
export const groupNotFoundMessage = (groupId: string) => `group ${quote(groupId)} has no members and no committed offsets`
export const groupNotAuthorizedMessage = (principal: string, operation: string, groupId: string) => `principal ${quote(principal)} may not ${operation} group ${quote(groupId)}`

/** Every wording by condition name (`ErrorMessages.unknownTopic(topic)`). */
export const ErrorMessages = {
  unknownTopic: unknownTopicMessage,
  unknownPartition: unknownPartitionMessage,
  offsetOutOfRange: offsetOutOfRangeMessage,
  topicExists: topicExistsMessage,
  streamClosed: streamClosedMessage,
  topicDeleted: topicDeletedMessage,
  invalidPartitions: invalidPartitionsMessage,
  topicCreationsThrottled: topicCreationsThrottledMessage,
  tooManyConnections: tooManyConnectionsMessage,
  quotaThrottleTooLong: quotaThrottleTooLongMessage,
  topicNotAuthorized: topicNotAuthorizedMessage,
  clusterNotAuthorized: clusterNotAuthorizedMessage,
  producerIdNotOwned: producerIdNotOwnedMessage,
  clusterDataDirAsSingleNode: clusterDataDirAsSingleNodeMessage,
  singleNodeDataDirAsCluster: singleNodeDataDirAsClusterMessage,
  originRefused: originRefusedMessage,
  hostRefused: hostRefusedMessage,
  writeNeedsJson: writeNeedsJsonMessage,
  authenticationFailed: authenticationFailedMessage,
  frameTooLarge: frameTooLargeMessage,
  invalidTopicConfig: invalidTopicConfigMessage,
  unknownMember: unknownMemberMessage,
  fencedMemberEpoch: fencedMemberEpochMessage,
  staleMemberEpoch: staleMemberEpochMessage,
  unreleasedInstance: unreleasedInstanceMessage,
  fencedInstance: fencedInstanceMessage,
  groupFull: groupFullMessage,
  tooManyGroups: tooManyGroupsMessage,
  nonEmptyGroup: nonEmptyGroupMessage,
  unsupportedAssignor: unsupportedAssignorMessage,
  invalidGroupId: invalidGroupIdMessage,
  notCoordinator: notCoordinatorMessage,
  groupNotFound: groupNotFoundMessage,
  groupNotAuthorized: groupNotAuthorizedMessage,
} as const

/** The words for each refusal reason of packages/server/src/security/authentication (never the token itself). */
const authenticationReasons: Readonly<Record<string, string>> = {
  missing: 'no token (send one in hello, or as `Authorization: Bearer <jwt>` over HTTP)',
  'no-hello': 'the connection did not authenticate (a hello with a valid token) before the hello deadline',
  malformed: 'the token is not a well-formed JWT',
  expired: 'the token expired',
  'not-yet-valid': 'the token is not valid yet (nbf)',
  'wrong-issuer': 'the token has the wrong issuer (iss)',
  'wrong-audience': 'the token has the wrong audience (aud)',
  'bad-signature': 'the token signature does not verify',
  'algorithm-not-allowed': 'the token algorithm is not allowed for any configured key',
  'unknown-key': 'the token names a key (kid) this broker does not know',
  'no-subject': 'the token has no subject (sub)',
  'no-expiry': 'the token has no expiry (exp)',
  'subject-changed': 'reauthenticate must present a token for the same subject (sub) as the connection',
  'wrong-peer': 'the peer token does not name the node id given in hello, or was not signed with this cluster\'s secret',
  'keys-unavailable': 'the broker could not load its verification keys (JWKS); try again later',
}
