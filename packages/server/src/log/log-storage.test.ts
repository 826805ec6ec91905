import { describe, expect, it } from 'vitest'
import { StorageFullError } from './log-storage.js'
import { logStorageContract } from './log-storage.contract.js'
import { MemoryLogStorage } from './memory-log-storage.js'

logStorageContract('memory', async () => new MemoryLogStorage())

const bytes = (...xs: number[]) => new Uint8Array(xs)

describe('MemoryLogStorage durability model', () => {
  it('power loss drops unsynced bytes and files whose entry was never synced', async () => {
    const s = new MemoryLogStorage()
    await s.ensureDir('p')
    const f = await s.open('p/a', { create: true })
    await f.append(bytes(1, 2))
    await s.syncDir('p')
    await f.sync()
    await f.append(bytes(3))
    const g = await s.open('p/b', { create: true })
    await g.append(bytes(9))
    await g.sync()
    s.simulatePowerLoss()
    expect(s.peek('p/a')).toEqual(bytes(1, 2))
    expect(s.peek('p/b')).toBeNull()
    await expect(f.append(bytes(4))).rejects.toThrow(/stale handle/)
  })

  it('a capacity budget fails appends with StorageFullError after a partial write', async () => {
    const s = new MemoryLogStorage()
    await s.ensureDir('p')
    const f = await s.open('p/a', { create: true })
    s.setCapacityBytes(4)
    await f.append(bytes(1, 2, 3))
    await expect(f.append(bytes(4, 5))).rejects.toBeInstanceOf(StorageFullError)
    expect(f.size()).toBe(4)
    await f.truncate(3)
    await expect(s.writeFileAtomic('p/c', bytes(1, 2))).rejects.toBeInstanceOf(StorageFullError)
    s.setCapacityBytes(null)
    await f.append(bytes(4, 5))
    expect(await f.read(0, 10)).toEqual(bytes(1, 2, 3, 4, 5))
  })

  it('a failed sync is sticky for the handle and counted', async () => {
    const s = new MemoryLogStorage()
    await s.ensureDir('p')
    const f = await s.open('p/a', { create: true })
    s.failSyncs(new Error('EIO'))
    await expect(f.sync()).rejects.toThrow('EIO')
    s.failSyncs(null)
    await expect(f.sync()).rejects.toThrow('EIO')
    expect(s.syncCount).toBe(1)
  })
})
