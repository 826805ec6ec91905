import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import { LazyLogStorage } from './lazy-log-storage.js'
import { logStorageContract } from './log-storage.contract.js'
import { TooManyOpenFilesError, type LogStorage } from './log-storage.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { partitionLogSuite } from './partition-log.contract.js'
import { FdLimitedStorage } from './testing/fd-limited-storage.js'
import { InstrumentedStorage } from './testing/instrumented-storage.js'
import { ManualClock } from './testing/manual-clock.js'

const lazy = (inner: LogStorage, maxOpenFiles: number) => new LazyLogStorage(inner, { maxOpenFiles, logger: silentLogger, clock: new ManualClock() })
const bytes = (...xs: number[]) => new Uint8Array(xs)

logStorageContract('LazyLogStorage over memory, 1 open file', async () => lazy(new MemoryLogStorage(), 1))
// One open handle for a whole partition log: the active segment is evicted and reopened around every roll, read and index write.
partitionLogSuite('LazyLogStorage over memory, 1 open file', async () => lazy(new MemoryLogStorage(), 1))

describe('LazyLogStorage', () => {
  it('an idle file holds no handle: many files, never more than maxOpenFiles open, every byte readable', async () => {
    const os = new FdLimitedStorage(new MemoryLogStorage(), 1_000)
    const s = lazy(os, 3)
    await s.ensureDir('p')
    const files = []
    for (let i = 0; i < 20; i++) {
      const f = await s.open(`p/${i}.log`, { create: true })
      await f.append(bytes(i, i + 1))
      files.push(f)
    }
    expect(os.peak).toBeLessThanOrEqual(3)
    for (let i = 0; i < 20; i++) expect(await files[i]!.read(0, 10)).toEqual(bytes(i, i + 1))
    for (const f of files) await f.close()
    expect(os.openHandles).toBe(0)
    expect(s.cache.openCount).toBe(0)
    expect(s.cache.evictions).toBeGreaterThanOrEqual(17)
  })

  it('evicting a file makes its unsynced bytes durable first; its next sync has nothing left to do', async () => {
    const mem = new MemoryLogStorage()
    const s = lazy(mem, 1)
    await s.ensureDir('p')
    const a = await s.open('p/a.log', { create: true })
    await s.syncDir('p')
    await a.sync()
    await a.append(bytes(1, 2, 3))
    const syncs = mem.syncCount
    const b = await s.open('p/b.log', { create: true }) // takes a's slot
    expect(mem.syncCount).toBe(syncs + 1)
    await a.sync()
    expect(mem.syncCount).toBe(syncs + 1)
    mem.simulatePowerLoss()
    expect(mem.peek('p/a.log')).toEqual(bytes(1, 2, 3))
    await b.close().catch(() => {})
  })

  it('a sync that fails during eviction is sticky: the file refuses further use', async () => {
    const mem = new MemoryLogStorage()
    const s = lazy(mem, 1)
    await s.ensureDir('p')
    const a = await s.open('p/a.log', { create: true })
    await a.append(bytes(1))
    mem.failSyncs(new Error('EIO'))
    await s.open('p/b.log', { create: true })
    mem.failSyncs(null)
    await expect(a.sync()).rejects.toThrow('EIO')
    await expect(a.append(bytes(2))).rejects.toThrow('EIO')
    await expect(a.read(0, 1)).rejects.toThrow('EIO')
    await a.close()
  })

  it('when the OS refuses a handle, idle handles are closed and the open retried', async () => {
    const os = new FdLimitedStorage(new MemoryLogStorage(), 2)
    const s = lazy(os, 10) // the cache allows more than the OS does
    await s.ensureDir('p')
    const files = []
    for (let i = 0; i < 6; i++) files.push(await s.open(`p/${i}.log`, { create: true }))
    for (const [i, f] of files.entries()) await f.append(bytes(i))
    await s.writeFileAtomic('p/meta', bytes(9))
    expect(os.peak).toBe(2)
    for (const [i, f] of files.entries()) expect(await f.read(0, 1)).toEqual(bytes(i))
  })

  it('when no handle is idle, the OS refusal reaches the caller as TooManyOpenFilesError and nothing is damaged', async () => {
    const os = new FdLimitedStorage(new MemoryLogStorage(), 1)
    const gated = new InstrumentedStorage(os)
    let refused = 0
    const s = new LazyLogStorage(gated, { maxOpenFiles: 10, logger: silentLogger, clock: new ManualClock(), onTooManyOpenFiles: () => refused++ })
    await s.ensureDir('p')
    const a = await s.open('p/a.log', { create: true })
    await a.append(bytes(1))
    // While a's sync holds the only handle the OS allows, nothing else can open.
    const release = gated.holdSyncs()
    const hold = a.sync()
    await expect(s.open('p/b.log', { create: true })).rejects.toBeInstanceOf(TooManyOpenFilesError)
    release()
    await hold
    expect(refused).toBe(1)
    await a.append(bytes(2))
    expect(await a.read(0, 10)).toEqual(bytes(1, 2))
    const b = await s.open('p/b.log', { create: true }) // a is idle now: it is closed to make room
    await b.append(bytes(7))
    await a.append(bytes(3))
    expect(await a.read(0, 10)).toEqual(bytes(1, 2, 3))
    await a.close()
    await b.close()
    expect(os.openHandles).toBe(0)
  })

  it('random concurrent reads, appends, syncs and closes over a tiny cache keep every byte and every bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom('append', 'read', 'sync', 'truncate'), fc.integer({ min: 0, max: 255 })), { maxLength: 80 }),
        async (maxOpenFiles, ops) => {
          const os = new FdLimitedStorage(new MemoryLogStorage(), 1_000)
          const s = lazy(os, maxOpenFiles)
          await s.ensureDir('p')
          const files = await Promise.all(Array.from({ length: 8 }, (_, i) => s.open(`p/${i}`, { create: true })))
          const model: number[][] = files.map(() => [])
          // Each file's operations run in order (as PartitionLog serialises writes); files run concurrently.
          const chains = files.map(() => Promise.resolve())
          for (const [i, op, v] of ops) {
            const f = files[i]!
            const m = model[i]!
            chains[i] = chains[i]!.then(async () => {
              if (op === 'append') {
                await f.append(bytes(v))
                m.push(v)
              } else if (op === 'truncate') {
                const n = v % (m.length + 1)
                await f.truncate(n)
                m.length = n
              } else if (op === 'sync') await f.sync()
              else expect(Array.from(await f.read(0, 1_000))).toEqual(m)
            })
          }
          await Promise.all(chains)
          expect(os.peak).toBeLessThanOrEqual(maxOpenFiles)
          for (const [i, f] of files.entries()) {
            expect(f.size()).toBe(model[i]!.length)
            expect(Array.from(await f.read(0, 1_000))).toEqual(model[i])
          }
          await Promise.all(files.map((f) => f.close()))
          expect(os.openHandles).toBe(0)
          expect(s.cache.openCount).toBe(0)
        },
      ),
      { numRuns: 60 },
    )
  })
})
