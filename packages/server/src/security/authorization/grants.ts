/**
 * @module Grants: what one principal may do, as topic patterns per operation plus the cluster `admin` right, read
 * from a token's `samsa` claim or an ACL file entry. Only allow entries exist: whatever no grant names is denied.
 *
 * Implications (as Kafka's): `read`, `write` and `delete` of a topic imply `describe` of it (a client must find a
 * topic's partitions to use it); `admin` is every operation on every topic and the cluster itself.
 */
import { parseTopicPattern, patternMatches, type TopicPattern } from './topic-pattern.js'

export const TOPIC_OPERATIONS = ['read', 'write', 'create', 'delete', 'describe'] as const
export type TopicOperation = (typeof TOPIC_OPERATIONS)[number]
/** Every operation an ACL names: the topic operations and `admin` (the cluster: /metrics when protected, and every topic). */
export type Operation = TopicOperation | 'admin'
export const OPERATIONS: readonly Operation[] = [...TOPIC_OPERATIONS, 'admin']

export interface Grants {
  readonly topics: Readonly<Record<TopicOperation, readonly TopicPattern[]>>
  readonly admin: boolean
}

export const NO_GRANTS: Grants = Object.freeze({ topics: Object.freeze({ read: [], write: [], create: [], delete: [], describe: [] }), admin: false })

/** The operations whose grant implies `describe` of the same topics. */
const IMPLY_DESCRIBE: readonly TopicOperation[] = ['describe', 'read', 'write', 'delete']

/** Whether `grants` allow `op` on `topic` (`topic` is ignored for `admin`). */
export function grantsAllow(grants: Grants, op: Operation, topic: string): boolean {
  if (grants.admin) return true
  if (op === 'admin') return false
  const ops = op === 'describe' ? IMPLY_DESCRIBE : [op]
  return ops.some((o) => grants.topics[o].some((p) => patternMatches(p, topic)))
}

export function isOperation(text: unknown): text is Operation {
  return typeof text === 'string' && (OPERATIONS as readonly string[]).includes(text)
}

/** Grants built from (operation, pattern) entries; `admin` needs no pattern. */
export function grantsOf(entries: Iterable<{ readonly operation: Operation; readonly pattern?: TopicPattern }>): Grants {
  const topics: Record<TopicOperation, TopicPattern[]> = { read: [], write: [], create: [], delete: [], describe: [] }
  let admin = false
  for (const e of entries) {
    if (e.operation === 'admin') admin = true
    else if (e.pattern) topics[e.operation].push(e.pattern)
  }
  return { topics, admin }
}

/** Both principals' grants: a token's claim and the ACL file add up. */
export function mergeGrants(a: Grants, b: Grants): Grants {
  if (a === NO_GRANTS) return b
  if (b === NO_GRANTS) return a
  const join = (op: TopicOperation) => [...a.topics[op], ...b.topics[op]]
  return { topics: { read: join('read'), write: join('write'), create: join('create'), delete: join('delete'), describe: join('describe') }, admin: a.admin || b.admin }
}

/**
 * The grants of a token's `samsa` claim: `{ "read": ["chat.*"], "write": [...], "create": [...], "delete": [...],
 * "describe": [...], "admin": true }`, every key optional. Throws a RangeError naming the first bad entry (the
 * authorizer then grants the token nothing: a token that says more than it can mean is not half-trusted).
 */
export function grantsFromClaim(claim: unknown): Grants {
  if (claim === undefined) return NO_GRANTS
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) throw new RangeError('the samsa claim must be an object')
  const entries: { operation: Operation; pattern?: TopicPattern }[] = []
  for (const [key, value] of Object.entries(claim)) {
    if (key === 'admin') {
      if (typeof value !== 'boolean') throw new RangeError('samsa.admin must be true or false')
      if (value) entries.push({ operation: 'admin' })
      continue
    }
    if (!isOperation(key)) continue // unknown keys: room for later claims (quotas), ignored here
    if (!Array.isArray(value)) throw new RangeError(`samsa.${key} must be an array of topic patterns`)
    for (const text of value) entries.push({ operation: key, pattern: parseTopicPattern(text) })
  }
  return grantsOf(entries)
}
