import { describe, expect, it } from 'vitest'
import { FileHandleCache, type EvictableHandle } from './file-handle-cache.js'

/** An entry that records its eviction; its handle is "closed" once closeForEviction resolves. */
class Entry implements EvictableHandle {
  closed = 0
  constructor(readonly name: string, readonly log: string[]) {}
  async closeForEviction(): Promise<void> {
    this.closed++
    this.log.push(this.name)
  }
}

/** Opens e in a slot; it stays pinned (in use) when pinned is true. */
async function openIn(cache: FileHandleCache, e: Entry, pinned = false): Promise<void> {
  await cache.acquireSlot()
  cache.added(e)
  if (!pinned) cache.unpin(e)
}

describe('FileHandleCache', () => {
  it('evicts the least recently used idle handle when every slot is taken', async () => {
    const evicted: string[] = []
    const cache = new FileHandleCache({ maxOpenFiles: 2 })
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Entry(n, evicted)) as [Entry, Entry, Entry, Entry]
    await openIn(cache, a)
    await openIn(cache, b)
    cache.pin(a) // a becomes the most recently used
    cache.unpin(a)
    await openIn(cache, c)
    expect(evicted).toEqual(['b'])
    await openIn(cache, d)
    expect(evicted).toEqual(['b', 'a'])
    expect(cache.openCount).toBe(2)
    expect(cache.evictions).toBe(2)
  })

  it('never evicts a pinned handle: a caller waits until one is unpinned', async () => {
    const evicted: string[] = []
    const cache = new FileHandleCache({ maxOpenFiles: 1 })
    const a = new Entry('a', evicted)
    await openIn(cache, a, true)
    let got = false
    const waiting = cache.acquireSlot().then(() => (got = true))
    await Promise.resolve()
    await Promise.resolve()
    expect(got).toBe(false)
    expect(await cache.evictIdle()).toBe(false)
    cache.unpin(a)
    await waiting
    expect(evicted).toEqual(['a'])
    expect(cache.openCount).toBe(1)
  })

  it('a handle closed by its owner frees its slot for a waiter', async () => {
    const cache = new FileHandleCache({ maxOpenFiles: 1 })
    const a = new Entry('a', [])
    await openIn(cache, a, true)
    const waiting = cache.acquireSlot()
    cache.remove(a)
    cache.unpin(a) // tolerated after remove
    cache.releaseSlot()
    await waiting
    expect(a.closed).toBe(0)
    expect(cache.openCount).toBe(1)
  })

  it('slots held never exceed maxOpenFiles under many concurrent users', async () => {
    let peak = 0
    const cache = new FileHandleCache({ maxOpenFiles: 3, onOpenCount: (n) => (peak = Math.max(peak, n)) })
    const log: string[] = []
    const entries = Array.from({ length: 20 }, (_, i) => new Entry(`e${i}`, log))
    await Promise.all(
      entries.map(async (e, i) => {
        await openIn(cache, e, true)
        for (let k = 0; k < i % 4; k++) await Promise.resolve()
        cache.unpin(e)
      }),
    )
    expect(peak).toBe(3)
    expect(cache.openCount).toBe(3)
    expect(cache.evictions).toBe(17)
  })

  it('closeIdle closes only handles unused for the given time, never a pinned one', async () => {
    let now = 0
    const evicted: string[] = []
    const cache = new FileHandleCache({ maxOpenFiles: 10, nowMs: () => now })
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new Entry(n, evicted)) as [Entry, Entry, Entry]
    await openIn(cache, a)
    await openIn(cache, b, true)
    now = 500
    await openIn(cache, c)
    now = 1_000
    expect(await cache.closeIdle(1_000)).toBe(1) // a: idle since 0; b is pinned; c idle for 500 only
    expect(evicted).toEqual(['a'])
    cache.unpin(b)
    now = 1_600
    expect(await cache.closeIdle(1_000)).toBe(1)
    expect(evicted).toEqual(['a', 'c'])
    expect(cache.openCount).toBe(1)
  })

  it('rejects a size below one', () => {
    expect(() => new FileHandleCache({ maxOpenFiles: 0 })).toThrow(RangeError)
  })
})
