/** @module The LogStorage contract: one suite every implementation (memory, file) must pass. */
import { describe, expect, it } from 'vitest'
import type { LogStorage } from './log-storage.js'

const bytes = (...xs: number[]) => new Uint8Array(xs)

export function logStorageContract(name: string, makeStorage: () => Promise<LogStorage>): void {
  describe(`LogStorage contract: ${name}`, () => {
    it('ensureDir creates nested directories and list names their entries', async () => {
      const s = await makeStorage()
      expect(await s.list('t-0')).toEqual([])
      await s.ensureDir('t-0/sub')
      await s.ensureDir('t-0/sub') // idempotent
      expect(await s.list('')).toContain('t-0')
      expect(await s.list('t-0')).toEqual(['sub'])
      expect(await s.exists('t-0/sub')).toBe(true)
      expect(await s.exists('t-0/nope')).toBe(false)
    })

    it('appends, tracks size, reads back, truncates and reopens', async () => {
      const s = await makeStorage()
      await s.ensureDir('p')
      const f = await s.open('p/a.log', { create: true })
      expect(f.size()).toBe(0)
      await f.append(bytes(1, 2, 3))
      await f.append(bytes(4, 5))
      expect(f.size()).toBe(5)
      expect(await f.read(1, 3)).toEqual(bytes(2, 3, 4))
      expect(await f.read(3, 100)).toEqual(bytes(4, 5))
      expect(await f.read(5, 10)).toEqual(bytes())
      await f.sync()
      await f.truncate(2)
      expect(f.size()).toBe(2)
      await f.append(bytes(9))
      expect(await f.read(0, 10)).toEqual(bytes(1, 2, 9))
      await f.close()
      const g = await s.open('p/a.log', { create: false })
      expect(g.size()).toBe(3)
      expect(await g.read(0, 3)).toEqual(bytes(1, 2, 9))
      await g.close()
      expect(await s.list('p')).toEqual(['a.log'])
    })

    it('open without create rejects a missing file', async () => {
      const s = await makeStorage()
      await s.ensureDir('p')
      await expect(s.open('p/missing.log', { create: false })).rejects.toThrow()
    })

    it('reads return copies that later appends do not change', async () => {
      const s = await makeStorage()
      await s.ensureDir('p')
      const f = await s.open('p/a.log', { create: true })
      await f.append(bytes(1, 2))
      const r = await f.read(0, 2)
      await f.truncate(0)
      await f.append(bytes(7, 7))
      expect(r).toEqual(bytes(1, 2))
      await f.close()
    })

    it('writeFileAtomic replaces whole files; readFile returns null for missing ones', async () => {
      const s = await makeStorage()
      await s.ensureDir('p')
      expect(await s.readFile('p/cp')).toBeNull()
      await s.writeFileAtomic('p/cp', bytes(1, 2, 3))
      expect(await s.readFile('p/cp')).toEqual(bytes(1, 2, 3))
      await s.writeFileAtomic('p/cp', bytes(4))
      expect(await s.readFile('p/cp')).toEqual(bytes(4))
      expect(await s.list('p')).toEqual(['cp'])
    })

    it('rename moves a file and remove deletes it (missing is fine)', async () => {
      const s = await makeStorage()
      await s.ensureDir('p')
      await s.writeFileAtomic('p/x', bytes(5))
      await s.rename('p/x', 'p/y')
      expect(await s.exists('p/x')).toBe(false)
      expect(await s.readFile('p/y')).toEqual(bytes(5))
      await s.remove('p/y')
      await s.remove('p/y')
      expect(await s.list('p')).toEqual([])
      await s.syncDir('p')
    })

    it('removeDir deletes a directory tree', async () => {
      const s = await makeStorage()
      await s.ensureDir('p/q')
      await s.writeFileAtomic('p/q/a', bytes(1))
      await s.writeFileAtomic('p/b', bytes(2))
      await s.removeDir('p')
      expect(await s.exists('p')).toBe(false)
      expect(await s.list('p')).toEqual([])
      expect(await s.list('')).not.toContain('p')
    })

    it('rejects paths that could leave the root', async () => {
      const s = await makeStorage()
      for (const bad of ['../x', 'a/../../x', 'a/..', '/etc/passwd', 'a\0b', 'a\\..\\b', 'C:/x']) {
        await expect(s.open(bad, { create: true }), bad).rejects.toThrow(/invalid storage path/)
        await expect(s.writeFileAtomic(bad, bytes(1)), bad).rejects.toThrow(/invalid storage path/)
        await expect(s.ensureDir(bad), bad).rejects.toThrow(/invalid storage path/)
        await expect(s.list(bad), bad).rejects.toThrow(/invalid storage path/)
        await expect(s.removeDir(bad), bad).rejects.toThrow(/invalid storage path/)
      }
      await expect(s.removeDir(''), 'root').rejects.toThrow(/invalid storage path/)
    })

    it('a closed file refuses further use', async () => {
      const s = await makeStorage()
      await s.ensureDir('p')
      const f = await s.open('p/a.log', { create: true })
      await f.close()
      await expect(f.append(bytes(1))).rejects.toThrow()
    })
  })
}
