import { describe, expect, it } from 'vitest'
import { parseAclFile } from './acl-file.js'
import { grantsAllow } from './grants.js'

describe('the ACL file', () => {
  it('reads allow entries per principal name', () => {
    const t = parseAclFile(JSON.stringify({ principals: {
      alice: { allow: [{ operation: 'read', pattern: 'chat.*' }, { operation: 'create', pattern: 'chat.alice' }] },
      ops: { allow: [{ operation: 'admin' }] },
      nobody: { allow: [] },
    } }))
    expect([...t.keys()]).toEqual(['alice', 'ops', 'nobody'])
    expect(grantsAllow(t.get('alice')!, 'read', 'chat.x')).toBe(true)
    expect(grantsAllow(t.get('alice')!, 'create', 'chat.alice')).toBe(true)
    expect(grantsAllow(t.get('alice')!, 'create', 'chat.bob')).toBe(false)
    expect(grantsAllow(t.get('ops')!, 'admin', 'cluster')).toBe(true)
    expect(grantsAllow(t.get('nobody')!, 'describe', 'x')).toBe(false)
  })

  it('refuses a bad file whole, naming the first bad entry', () => {
    expect(() => parseAclFile('{')).toThrow(/not JSON/)
    expect(() => parseAclFile('[]')).toThrow(/"principals" object/)
    expect(() => parseAclFile('{"principals": {"a": []}}')).toThrow(/principals\["a"\] must be an object with an "allow" array/)
    expect(() => parseAclFile('{"principals": {"a": {"allow": [{"operation": "wrte", "pattern": "x"}]}}}')).toThrow(/principals\["a"\]\.allow\[0\]\.operation must be one of read, write, create, delete, describe, admin, got "wrte"/)
    expect(() => parseAclFile('{"principals": {"a": {"allow": [{"operation": "read", "pattern": "x"}, {"operation": "read"}]}}}')).toThrow(/allow\[1\]\.pattern: a topic pattern must be a non-empty string/)
    expect(() => parseAclFile('{"principals": {"a": {"allow": [{"operation": "read", "pattern": "a*b"}]}}}')).toThrow(/allow\[0\]\.pattern: .*only end a pattern/)
  })
})
