/**
 * @module The one error table shared by broker and clients: each error's code and whether it is retriable. Codes reuse
 * Kafka's where the meaning is the same and are never reused. The default wording of each error lives apart, in
 * error-codes.ts (`ErrorCodes`): a SamsaError built from a name or a code carries a message of its caller's (broker
 * errors reach a client with the broker's message), so a bundle that never needs a default wording (the browser SDK)
 * does not carry the table of them.
 */

/** What a client decides on: the code, its name and the retriable flag. */
export interface ErrorKind {
  readonly code: number
  readonly name: string
  /** Clients decide whether to retry from this flag and nothing else. */
  readonly retriable: boolean
}

/** An error kind with its default wording (`ErrorCodes.X`). */
export interface ErrorSpec extends ErrorKind {
  readonly message: string
}

/** [code, retriable] by name. */
const table = {
  UNKNOWN_SERVER_ERROR: [-1, false],
  NONE: [0, false],
  OFFSET_OUT_OF_RANGE: [1, false],
  CORRUPT_MESSAGE: [2, true],
  UNKNOWN_TOPIC_OR_PARTITION: [3, false],
  LEADER_NOT_AVAILABLE: [5, true],
  NOT_LEADER_OR_FOLLOWER: [6, true],
  REQUEST_TIMED_OUT: [7, true],
  BROKER_NOT_AVAILABLE: [8, false],
  MESSAGE_TOO_LARGE: [10, false],
  NETWORK_EXCEPTION: [13, true],
  INVALID_TOPIC_EXCEPTION: [17, false],
  COORDINATOR_LOAD_IN_PROGRESS: [14, true],
  COORDINATOR_NOT_AVAILABLE: [15, true],
  NOT_COORDINATOR: [16, true],
  NOT_ENOUGH_REPLICAS: [19, true],
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: [20, true],
  INVALID_REQUIRED_ACKS: [21, false],
  INVALID_GROUP_ID: [24, false],
  UNKNOWN_MEMBER_ID: [25, false],
  TOPIC_AUTHORIZATION_FAILED: [29, false],
  GROUP_AUTHORIZATION_FAILED: [30, false],
  CLUSTER_AUTHORIZATION_FAILED: [31, false],
  INVALID_PRODUCER_ID_MAPPING: [49, false],
  SASL_AUTHENTICATION_FAILED: [58, false],
  THROTTLING_QUOTA_EXCEEDED: [89, true],
  UNSUPPORTED_VERSION: [35, false],
  TOPIC_ALREADY_EXISTS: [36, false],
  INVALID_PARTITIONS: [37, false],
  INVALID_REPLICATION_FACTOR: [38, false],
  INVALID_CONFIG: [40, false],
  NOT_CONTROLLER: [41, true],
  INVALID_REQUEST: [42, false],
  POLICY_VIOLATION: [44, false],
  OUT_OF_ORDER_SEQUENCE_NUMBER: [45, false],
  INVALID_PRODUCER_EPOCH: [47, false],
  NON_EMPTY_GROUP: [68, false],
  GROUP_ID_NOT_FOUND: [69, false],
  GROUP_MAX_SIZE_REACHED: [81, false],
  FENCED_INSTANCE_ID: [82, false],
  FENCED_MEMBER_EPOCH: [110, false],
  UNRELEASED_INSTANCE_ID: [111, false],
  UNSUPPORTED_ASSIGNOR: [112, false],
  STALE_MEMBER_EPOCH: [113, false],
  UNKNOWN_LEADER_EPOCH: [75, true],
  STALE_BROKER_EPOCH: [77, false],
  KAFKA_STORAGE_ERROR: [56, true],
  UNKNOWN_PRODUCER_ID: [59, false],
  FENCED_LEADER_EPOCH: [74, true],
  INVALID_RECORD: [87, false],
  INVALID_UPDATE_VERSION: [95, false],
  DUPLICATE_BROKER_REGISTRATION: [101, false],
  BROKER_ID_NOT_REGISTERED: [102, false],
  INELIGIBLE_REPLICA: [107, false],
  INCONSISTENT_CLUSTER_ID: [104, false],
  // Samsa's own codes start at 1000.
  HELLO_REQUIRED: [1000, false],
  UNKNOWN_API_KEY: [1001, false],
  TOO_MANY_SUBSCRIPTIONS: [1002, false],
  UNKNOWN_SUBSCRIPTION: [1003, false],
  BROKER_SHUTTING_DOWN: [1004, true],
  TOPIC_DELETED: [1005, false],
  TOO_MANY_REQUESTS: [1006, true],
  DUPLICATE_SEQUENCE_CONFLICT: [1007, false],
  RESPONSE_TOO_LARGE: [1008, false],
} as const satisfies Record<string, readonly [number, boolean]>

export type ErrorName = keyof typeof table

const isName = (name: string): name is ErrorName => Object.hasOwn(table, name)

/** The kind of a named error. */
export function errorKind(name: ErrorName): ErrorKind {
  const [code, retriable] = table[name]
  return { code, name, retriable }
}

let byCode: Map<number, ErrorName> | undefined

/** The kind of an error code; a code outside the table is a non-retriable `UNKNOWN_ERROR_<code>`. */
export function errorKindByCode(code: number): ErrorKind {
  byCode ??= new Map(Object.keys(table).filter(isName).map((name) => [table[name][0], name]))
  const name = byCode.get(code)
  return name === undefined ? { code, name: `UNKNOWN_ERROR_${code}`, retriable: false } : errorKind(name)
}

export type ErrorDetails = Readonly<Record<string, number>>

const wordingOf = (e: ErrorKind | ErrorSpec): string | undefined => ('message' in e ? e.message : undefined)

/**
 * An error that travels on the wire: a code from the table, a human message and numeric details. Built from a spec
 * (`ErrorCodes.X`) the message defaults to its wording; built from a name or a kind, the caller gives the message.
 */
export class SamsaError extends Error {
  readonly code: number
  readonly errorName: string
  readonly retriable: boolean
  readonly details: ErrorDetails

  constructor(error: ErrorSpec, message?: string, details?: ErrorDetails)
  constructor(error: ErrorKind | ErrorName, message: string, details?: ErrorDetails)
  constructor(error: ErrorKind | ErrorName, message?: string, details: ErrorDetails = {}) {
    const e = typeof error === 'string' ? errorKind(error) : error
    super(message ?? wordingOf(e) ?? e.name)
    this.name = 'SamsaError'
    this.code = e.code
    this.errorName = e.name
    this.retriable = e.retriable
    this.details = details
  }

  static fromCode(code: number, message: string, details?: ErrorDetails): SamsaError {
    return new SamsaError(errorKindByCode(code), message, details)
  }
}

/** Thrown by every decoder for bytes that cannot be parsed; never anything else. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}
