/**
 * @module The ACL file: allow entries per principal name, in JSON.
 *
 *   { "principals": {
 *       "alice":     { "allow": [ { "operation": "read", "pattern": "chat.*" }, { "operation": "write", "pattern": "chat.alice" } ] },
 *       "ops":       { "allow": [ { "operation": "admin" } ] },
 *       "anonymous": { "allow": [ { "operation": "read", "pattern": "public.*" } ] } } }
 *
 * A principal name is a token's `sub` (`anonymous` for connections without a token, when anonymous access is
 * allowed). `operation` is read, write, create, delete, describe or admin; `pattern` (required but for admin) is a
 * topic pattern (topic-pattern.ts). An entry naming `group` instead of `pattern` grants read or describe on the
 * consumer groups whose ids match it (`{ "operation": "read", "group": "billing*" }`). Invariant: parseAclFile accepts a file whole or throws a RangeError naming the
 * first bad entry; there are no deny entries and no partial tables.
 */
import { grantsOf, isGroupOperation, isOperation, OPERATIONS, type GrantEntry, type Grants } from './grants.js'
import { parseTopicPattern, type TopicPattern } from './topic-pattern.js'

/** Grants by principal name. */
export type AclTable = ReadonlyMap<string, Grants>

export const EMPTY_ACLS: AclTable = new Map()

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function parseAclFile(text: string): AclTable {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new RangeError(`the ACL file is not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!isObject(doc) || !isObject(doc.principals)) throw new RangeError('the ACL file must be an object with a "principals" object: {"principals": {"alice": {"allow": [...]}}}')
  const table = new Map<string, Grants>()
  for (const [name, entry] of Object.entries(doc.principals)) {
    const at = `principals[${JSON.stringify(name)}]`
    if (!isObject(entry) || !Array.isArray(entry.allow)) throw new RangeError(`${at} must be an object with an "allow" array`)
    const entries: GrantEntry[] = []
    entry.allow.forEach((allow: unknown, i: number) => {
      const where = `${at}.allow[${i}]`
      if (!isObject(allow)) throw new RangeError(`${where} must be an object {"operation": ..., "pattern": ...}`)
      if (allow.group !== undefined) {
        if (!isGroupOperation(allow.operation)) throw new RangeError(`${where}.operation on a group must be read or describe, got ${JSON.stringify(allow.operation) ?? 'nothing'}`)
        try {
          return void entries.push({ operation: allow.operation, group: parseTopicPattern(allow.group) })
        } catch (e) {
          throw new RangeError(`${where}.group: ${e instanceof Error ? e.message : String(e)}`)
        }
      }
      if (!isOperation(allow.operation)) throw new RangeError(`${where}.operation must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(allow.operation) ?? 'nothing'}`)
      if (allow.operation === 'admin') return void entries.push({ operation: 'admin' })
      try {
        entries.push({ operation: allow.operation, pattern: parseTopicPattern(allow.pattern) })
      } catch (e) {
        throw new RangeError(`${where}.pattern: ${e instanceof Error ? e.message : String(e)}`)
      }
    })
    table.set(name, grantsOf(entries))
  }
  return table
}
