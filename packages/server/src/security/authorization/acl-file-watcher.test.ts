import { describe, expect, it } from 'vitest'
import type { Logger } from '../../clock.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { AclFileWatcher, type AclFileSource } from './acl-file-watcher.js'
import { grantsAllow } from './grants.js'

/** An in-memory file: its stamp changes on every write. */
class MemoryFile implements AclFileSource {
  readonly path = '/etc/samsa/acl.json'
  #text: string | null
  #version = 0
  constructor(text: string) {
    this.#text = text
  }
  write(text: string | null): void {
    this.#text = text
    this.#version++
  }
  async stamp() {
    return this.#text === null ? null : `v${this.#version}`
  }
  async read() {
    if (this.#text === null) throw new Error('ENOENT')
    return this.#text
  }
}

function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string | undefined }[] = []
  const at = (level: string) => (fields: object, msg?: string) => void lines.push({ level, fields: { ...fields }, msg })
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return { lines, logger }
}

const acl = (pattern: string) => JSON.stringify({ principals: { alice: { allow: [{ operation: 'read', pattern }] } } })

describe('AclFileWatcher', () => {
  it('refuses to start on a missing or bad file, naming it', async () => {
    const clock = new ManualClock()
    const { logger } = recordingLogger()
    await expect(AclFileWatcher.open({ source: new MemoryFile('{'), clock, logger, pollIntervalMs: 1000 })).rejects.toThrow(/ACL file \/etc\/samsa\/acl.json: the ACL file is not JSON/)
    const missing = new MemoryFile('')
    missing.write(null)
    await expect(AclFileWatcher.open({ source: missing, clock, logger, pollIntervalMs: 1000 })).rejects.toThrow(/does not exist/)
  })

  it('reloads a changed file on its next poll; a bad version keeps the previous ACLs, reported once (a warn and an audit line)', async () => {
    const clock = new ManualClock()
    const { lines, logger } = recordingLogger()
    const file = new MemoryFile(acl('a.*'))
    const w = await AclFileWatcher.open({ source: file, clock, logger, pollIntervalMs: 1000 })
    const allows = (topic: string) => grantsAllow(w.table.get('alice')!, 'read', topic)
    expect(allows('a.1')).toBe(true)

    const poll = async () => {
      const next = w.nextPoll()
      clock.advance(1000)
      await next
    }
    file.write(acl('b.*'))
    await poll()
    expect(allows('b.1')).toBe(true)
    expect(allows('a.1')).toBe(false)
    expect(lines.filter((l) => l.fields.audit && l.fields.action === 'acl.reload' && l.fields.outcome === 'allowed')).toHaveLength(1)

    file.write('{"principals": {"alice": {"allow": [{"operation": "raed", "pattern": "c.*"}]}}}')
    await poll()
    await poll()
    await poll()
    expect(allows('b.1')).toBe(true)
    const warns = lines.filter((l) => l.level === 'warn')
    // One line saying what is wrong and that the previous ACLs stay, and one audit line: not one per poll.
    expect(warns).toHaveLength(2)
    expect(warns[0]!.msg).toMatch(/ACL file \/etc\/samsa\/acl.json not reloaded, the previous ACLs stay in force: .*operation must be one of/)
    expect(warns[1]!.fields).toMatchObject({ audit: true, action: 'acl.reload', outcome: 'refused', resource: '/etc/samsa/acl.json' })

    file.write(null)
    await poll()
    expect(allows('b.1')).toBe(true)
    expect(lines.filter((l) => l.level === 'warn').at(-2)!.msg).toMatch(/the file is missing/)

    file.write(acl('c.*'))
    await poll()
    expect(allows('c.1')).toBe(true)
    w.stop()
    expect(clock.pendingTimers).toBe(0)
  })
})
