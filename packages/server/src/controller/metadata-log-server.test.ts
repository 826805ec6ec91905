import { describe, expect, it } from 'vitest'
import type { FetchMetadataResponse } from '@samsa/shared'
import { ManualClock } from '../log/testing/manual-clock.js'
import { EMPTY_METADATA_IMAGE, decodeMetadataImage, type MetadataImage } from './metadata/index.js'
import { MetadataLogServer } from './metadata-log-server.js'

/** A voter's state as the server reads it; the batches are opaque bytes to the server. */
function voter(opts: { maxKeptEntries?: number; maxWaiting?: number; maxWaitMs?: number } = {}) {
  const clock = new ManualClock()
  const state = { image: EMPTY_METADATA_IMAGE as MetadataImage, leaderId: 1, term: 3 }
  const server = new MetadataLogServer({ clock, current: () => state, ...opts })
  const apply = (offset: number, bytes = 10) => {
    state.image = { ...state.image, offset }
    server.onApplied(offset, new Uint8Array(bytes).fill(offset))
  }
  return { clock, state, server, apply }
}

const offsets = (r: FetchMetadataResponse) => r.entries.map((e) => e.offset)
const settled = async <T>(p: Promise<T>) => {
  let done = false
  void p.then(() => (done = true))
  for (let i = 0; i < 5; i++) await Promise.resolve()
  return done
}

describe('MetadataLogServer', () => {
  it('answers the kept batches after the offset within maxBytes (at least one), and the image once some are no longer kept', async () => {
    const v = voter({ maxKeptEntries: 3 })
    for (const o of [2, 3, 5, 6, 8]) v.apply(o)
    // Kept: 5, 6, 8 (every batch after 3).
    expect(offsets(await v.server.fetch({ afterOffset: 3, knownLeaderId: 1, maxWaitMs: 0, maxBytes: 1_000 }))).toEqual([5, 6, 8])
    expect(offsets(await v.server.fetch({ afterOffset: 4, knownLeaderId: 1, maxWaitMs: 0, maxBytes: 1_000 }))).toEqual([5, 6, 8])
    expect(offsets(await v.server.fetch({ afterOffset: 5, knownLeaderId: 1, maxWaitMs: 0, maxBytes: 15 }))).toEqual([6])
    expect(offsets(await v.server.fetch({ afterOffset: 5, knownLeaderId: 1, maxWaitMs: 0, maxBytes: 1 }))).toEqual([6])
    const behind = await v.server.fetch({ afterOffset: 2, knownLeaderId: 1, maxWaitMs: 0, maxBytes: 1_000 })
    expect(behind).toMatchObject({ leaderId: 1, term: 3, latestOffset: 8, entries: [] })
    expect(decodeMetadataImage(behind.snapshot!).offset).toBe(8)
    // A snapshot replaced the image: nothing before it is kept.
    v.state.image = { ...EMPTY_METADATA_IMAGE, offset: 20 }
    v.server.onRestored(20)
    expect((await v.server.fetch({ afterOffset: 8, knownLeaderId: 1, maxWaitMs: 0, maxBytes: 1_000 })).snapshot).not.toBeNull()
  })

  it('holds a fetch until a batch is applied, the leader it knows changes, or the wait (capped) ends', async () => {
    const v = voter({ maxWaitMs: 1_000 })
    v.apply(1)
    const waiting = v.server.fetch({ afterOffset: 1, knownLeaderId: 1, maxWaitMs: 60_000, maxBytes: 1_000 })
    expect(await settled(waiting)).toBe(false)
    v.apply(2)
    expect(offsets(await waiting)).toEqual([2])

    const leader = v.server.fetch({ afterOffset: 2, knownLeaderId: 1, maxWaitMs: 60_000, maxBytes: 1_000 })
    v.state.leaderId = 0
    v.server.wake()
    expect(await settled(leader)).toBe(false)
    v.state.leaderId = 2
    v.server.wake()
    expect(await leader).toMatchObject({ leaderId: 2, entries: [] })

    const idle = v.server.fetch({ afterOffset: 2, knownLeaderId: 2, maxWaitMs: 60_000, maxBytes: 1_000 })
    v.clock.advance(999)
    expect(await settled(idle)).toBe(false)
    v.clock.advance(1)
    expect(await idle).toMatchObject({ latestOffset: 2, entries: [] })
  })

  it('lets at most maxWaiting fetches wait (more are answered at once), and answers every one on stop', async () => {
    const v = voter({ maxWaiting: 2 })
    const ask = () => v.server.fetch({ afterOffset: -1, knownLeaderId: 1, maxWaitMs: 5_000, maxBytes: 1_000 })
    const [a, b, c] = [ask(), ask(), ask()]
    expect(await settled(c)).toBe(true)
    expect(await settled(a)).toBe(false)
    expect(v.server.waiting).toBe(2)
    v.server.stop()
    expect(v.server.waiting).toBe(0)
    expect(await Promise.all([a, b])).toMatchObject([{ entries: [] }, { entries: [] }])
    expect(v.clock.pendingTimers).toBe(0)
  })
})
