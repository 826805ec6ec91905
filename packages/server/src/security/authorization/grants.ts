/**
 * @module Grants: what one principal may do, as topic patterns per operation, group-id patterns per group operation
 * (`read`: join, commit, fetch offsets; `describe`: find the coordinator, describe, list), plus the cluster `admin`
 * right, read from a token's `samsa` claim or an ACL file entry. Only allow entries exist: whatever no grant names is
 * denied.
 *
 * Implications (as Kafka's): `read`, `write` and `delete` of a topic imply `describe` of it (a client must find a
 * topic's partitions to use it), `read` of a group implies `describe` of it; `admin` is every operation on every
 * topic, every group and the cluster itself.
 */
import { parseTopicPattern, patternMatches, type TopicPattern } from './topic-pattern.js'

export const TOPIC_OPERATIONS = ['read', 'write', 'create', 'delete', 'describe'] as const
export type TopicOperation = (typeof TOPIC_OPERATIONS)[number]
/** Every operation an ACL names: the topic operations and `admin` (the cluster: /metrics when protected, and every topic). */
export type Operation = TopicOperation | 'admin'
export const OPERATIONS: readonly Operation[] = [...TOPIC_OPERATIONS, 'admin']

/** What a grant may allow on a consumer group (patterns of group ids, same syntax as topic patterns). */
export const GROUP_OPERATIONS = ['read', 'describe'] as const
export type GroupOperation = (typeof GROUP_OPERATIONS)[number]

export interface Grants {
  readonly topics: Readonly<Record<TopicOperation, readonly TopicPattern[]>>
  readonly groups: Readonly<Record<GroupOperation, readonly TopicPattern[]>>
  readonly admin: boolean
}

export const NO_GRANTS: Grants = Object.freeze({ topics: Object.freeze({ read: [], write: [], create: [], delete: [], describe: [] }), groups: Object.freeze({ read: [], describe: [] }), admin: false })

/** Whether `grants` allow `op` on consumer group `groupId`. */
export function grantsAllowGroup(grants: Grants, op: GroupOperation, groupId: string): boolean {
  if (grants.admin) return true
  const ops: readonly GroupOperation[] = op === 'describe' ? GROUP_OPERATIONS : [op]
  return ops.some((o) => grants.groups[o].some((p) => patternMatches(p, groupId)))
}

export function isGroupOperation(text: unknown): text is GroupOperation {
  return typeof text === 'string' && (GROUP_OPERATIONS as readonly string[]).includes(text)
}

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

/** One allow entry: an operation on topics (`pattern`) or on groups (`group`); `admin` needs neither. */
export type GrantEntry =
  | { readonly operation: Operation; readonly pattern?: TopicPattern }
  | { readonly operation: GroupOperation; readonly group: TopicPattern }

/** Grants built from entries. */
export function grantsOf(entries: Iterable<GrantEntry>): Grants {
  const topics: Record<TopicOperation, TopicPattern[]> = { read: [], write: [], create: [], delete: [], describe: [] }
  const groups: Record<GroupOperation, TopicPattern[]> = { read: [], describe: [] }
  let admin = false
  for (const e of entries) {
    if ('group' in e) groups[e.operation].push(e.group)
    else if (e.operation === 'admin') admin = true
    else if (e.pattern) topics[e.operation].push(e.pattern)
  }
  return { topics, groups, admin }
}

/** Both principals' grants: a token's claim and the ACL file add up. */
export function mergeGrants(a: Grants, b: Grants): Grants {
  if (a === NO_GRANTS) return b
  if (b === NO_GRANTS) return a
  const join = (op: TopicOperation) => [...a.topics[op], ...b.topics[op]]
  const joinGroups = (op: GroupOperation) => [...a.groups[op], ...b.groups[op]]
  return {
    topics: { read: join('read'), write: join('write'), create: join('create'), delete: join('delete'), describe: join('describe') },
    groups: { read: joinGroups('read'), describe: joinGroups('describe') },
    admin: a.admin || b.admin,
  }
}

/**
 * The grants of a token's `samsa` claim: `{ "read": ["chat.*"], "write": [...], "create": [...], "delete": [...],
 * "describe": [...], "groups": { "read": ["billing*"], "describe": [...] }, "admin": true }`, every key optional. Throws a RangeError naming the first bad entry (the
 * authorizer then grants the token nothing: a token that says more than it can mean is not half-trusted).
 */
export function grantsFromClaim(claim: unknown): Grants {
  if (claim === undefined) return NO_GRANTS
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) throw new RangeError('the samsa claim must be an object')
  const entries: GrantEntry[] = []
  for (const [key, value] of Object.entries(claim)) {
    if (key === 'groups') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError('samsa.groups must be an object {"read": [...], "describe": [...]}')
      for (const [op, list] of Object.entries(value)) {
        if (!isGroupOperation(op)) throw new RangeError(`samsa.groups.${op}: a group operation is read or describe`)
        if (!Array.isArray(list)) throw new RangeError(`samsa.groups.${op} must be an array of group id patterns`)
        for (const text of list) entries.push({ operation: op, group: parseTopicPattern(text) })
      }
      continue
    }
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
