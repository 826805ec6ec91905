import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../clock.js'
import { LazyLogStorage } from '../../log/lazy-log-storage.js'
import { logStorageContract } from '../../log/log-storage.contract.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { FileLogStorage } from './file-log-storage.js'

const roots: string[] = []
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-fls-'))
  roots.push(dir)
  return dir
}
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true })
})

logStorageContract('file', async () => new FileLogStorage(join(await tempRoot(), 'data')))
logStorageContract('LazyLogStorage over file, 1 open file', async () => new LazyLogStorage(new FileLogStorage(join(await tempRoot(), 'data')), { maxOpenFiles: 1, logger: silentLogger, clock: new ManualClock() }))

describe('FileLogStorage path confinement', () => {
  it('never creates anything outside the data directory', async () => {
    const outer = await tempRoot()
    const s = new FileLogStorage(join(outer, 'data'))
    await s.ensureDir('t-0')
    const attempts = ['../escape', 't-0/../../escape', '/tmp/escape', 'x\0y', '..', 't-0/..\\..\\escape']
    for (const p of attempts) {
      await expect(s.open(p, { create: true }), p).rejects.toThrow(/invalid storage path/)
      await expect(s.writeFileAtomic(p, new Uint8Array([1])), p).rejects.toThrow(/invalid storage path/)
      await expect(s.ensureDir(p), p).rejects.toThrow(/invalid storage path/)
      await expect(s.rename('t-0', p), p).rejects.toThrow(/invalid storage path/)
    }
    expect((await readdir(outer)).sort()).toEqual(['data'])
    expect(s.resolvePath('t-0/./a.log')).toBe(join(outer, 'data', 't-0', 'a.log'))
  })

  it('writeFileAtomic leaves no temp file behind', async () => {
    const s = new FileLogStorage(await tempRoot())
    await s.ensureDir('p')
    await s.writeFileAtomic('p/cp', new Uint8Array([1, 2]))
    expect(await s.list('p')).toEqual(['cp'])
  })
})
