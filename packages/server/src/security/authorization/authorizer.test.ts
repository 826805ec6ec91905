import { describe, expect, it } from 'vitest'
import { ANONYMOUS, type Principal } from '../principal.js'
import { parseAclFile } from './acl-file.js'
import { Authorizer, CLAIM_GRANTS_CACHED, CLAIM_TEXT_CACHED_CHARS } from './authorizer.js'
import { OPERATIONS } from './grants.js'

const user = (name: string, samsa?: unknown): Principal => ({ kind: 'user', name, claims: samsa === undefined ? {} : { samsa } })
const peer: Principal = { kind: 'peer', name: 'node:2', claims: {} }

describe('Authorizer', () => {
  it('with authorization off allows every principal everything (a broker without auth behaves as before)', () => {
    const a = new Authorizer({ enabled: false })
    for (const p of [ANONYMOUS, user('bob'), peer]) for (const op of OPERATIONS) expect(a.allows(p, op, 'any')).toBe(true)
    expect(Authorizer.OFF.allows(ANONYMOUS, 'delete', 'x')).toBe(true)
  })

  it('with it on denies by default, and allows a peer everything', () => {
    const a = new Authorizer({ enabled: true })
    for (const op of OPERATIONS) {
      expect(a.allows(ANONYMOUS, op, 't')).toBe(false)
      expect(a.allows(user('bob'), op, 't')).toBe(false)
      expect(a.allows(peer, op, 't')).toBe(true)
    }
  })

  it('grants what the token claim says, per operation and pattern; read, write and delete imply describe; admin is everything', () => {
    const a = new Authorizer({ enabled: true })
    const alice = user('alice', { read: ['chat.*'], write: ['chat.alice'], create: ['tmp.*'], delete: ['tmp.*'] })
    expect(a.allows(alice, 'read', 'chat.room1')).toBe(true)
    expect(a.allows(alice, 'read', 'chatroom')).toBe(false)
    expect(a.allows(alice, 'write', 'chat.alice')).toBe(true)
    expect(a.allows(alice, 'write', 'chat.bob')).toBe(false)
    expect(a.allows(alice, 'describe', 'chat.bob')).toBe(true)
    expect(a.allows(alice, 'describe', 'tmp.x')).toBe(true)
    expect(a.allows(alice, 'create', 'tmp.x')).toBe(true)
    expect(a.allows(alice, 'create', 'chat.x')).toBe(false)
    expect(a.allows(alice, 'admin', 'cluster')).toBe(false)
    const root = user('root', { admin: true })
    for (const op of OPERATIONS) expect(a.allows(root, op, 'anything')).toBe(true)
    // create alone does not imply describe (Kafka: it does not).
    expect(a.allows(user('c', { create: ['x'] }), 'describe', 'x')).toBe(false)
  })

  it('a claim that cannot be read grants nothing (not half of it); claims of anonymous or peers are not read', () => {
    const a = new Authorizer({ enabled: true })
    expect(a.allows(user('m', { read: ['ok'], write: 'not-an-array' }), 'read', 'ok')).toBe(false)
    expect(a.allows(user('m', { read: ['a*b'] }), 'read', 'ab')).toBe(false)
    expect(a.allows(user('m', 'nope'), 'read', 'x')).toBe(false)
    expect(a.allows(user('m', { admin: 'yes' }), 'read', 'x')).toBe(false)
    expect(a.allows({ kind: 'anonymous', name: 'anonymous', claims: { samsa: { admin: true } } }, 'read', 'x')).toBe(false)
    // Unknown keys are room for later claims, not an error.
    expect(a.allows(user('m', { read: ['x'], quota: 5 }), 'read', 'x')).toBe(true)
  })

  it('adds the ACL file entry of the principal name to its claim; anonymous gets only what the entry "anonymous" grants', () => {
    let acls = parseAclFile(JSON.stringify({ principals: {
      alice: { allow: [{ operation: 'write', pattern: 'logs.*' }] },
      anonymous: { allow: [{ operation: 'read', pattern: 'public' }] },
    } }))
    const a = new Authorizer({ enabled: true, acls: () => acls })
    const alice = user('alice', { read: ['chat.*'] })
    expect(a.allows(alice, 'read', 'chat.x')).toBe(true)
    expect(a.allows(alice, 'write', 'logs.app')).toBe(true)
    expect(a.allows(alice, 'write', 'chat.x')).toBe(false)
    expect(a.allows(ANONYMOUS, 'read', 'public')).toBe(true)
    expect(a.allows(ANONYMOUS, 'read', 'public2')).toBe(false)
    // A new table is used from the next check on (the file watcher swaps it).
    acls = parseAclFile('{"principals": {}}')
    expect(a.allows(alice, 'write', 'logs.app')).toBe(false)
    expect(a.allows(ANONYMOUS, 'read', 'public')).toBe(false)
    expect(a.allows(alice, 'read', 'chat.x')).toBe(true)
  })

  it('principals whose tokens grant the same share one frozen Grants; at most CLAIM_GRANTS_CACHED claim texts are kept, none longer than CLAIM_TEXT_CACHED_CHARS', () => {
    const a = new Authorizer({ enabled: true })
    const claim = { read: ['chat.*'], write: ['chat.alice'] }
    const tab1 = user('alice', claim)
    const tab2 = user('alice', { read: ['chat.*'], write: ['chat.alice'] })
    expect(a.grantsOf(tab1)).toBe(a.grantsOf(tab2))
    expect(Object.isFrozen(a.grantsOf(tab1).topics.read)).toBe(true)
    expect(a.allows(tab2, 'write', 'chat.alice')).toBe(true)
    expect(a.allows(tab2, 'write', 'chat.bob')).toBe(false)
    // A claim that cannot be read still grants nothing when it is found again.
    expect(a.allows(user('m', { read: 'x' }), 'read', 'x')).toBe(false)
    expect(a.allows(user('n', { read: 'x' }), 'read', 'x')).toBe(false)

    for (let i = 0; i < CLAIM_GRANTS_CACHED + 10; i++) expect(a.allows(user(`u${i}`, { read: [`t${i}`] }), 'read', `t${i}`)).toBe(true)
    expect(a.claimTextsCached).toBe(CLAIM_GRANTS_CACHED)
    const long = { read: ['x', ...Array.from({ length: CLAIM_TEXT_CACHED_CHARS / 4 }, (_, i) => `p${i}`)] }
    expect(a.allows(user('big', long), 'read', 'x')).toBe(true)
    expect(a.allows(user('big', long), 'read', 'y')).toBe(false)
    expect(a.claimTextsCached).toBe(CLAIM_GRANTS_CACHED)
    // The oldest were forgotten, not their meaning: a principal with a forgotten claim is read again.
    expect(a.allows(user('alice2', claim), 'write', 'chat.alice')).toBe(true)
  })
})
