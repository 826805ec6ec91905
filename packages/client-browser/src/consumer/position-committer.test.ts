import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../storage/memory-storage.js'
import type { OffsetStore } from '../storage/stores.js'
import { PositionCommitter } from './position-committer.js'

describe('PositionCommitter', () => {
  it('committed() includes the position being written (no longer staged, not yet stored)', async () => {
    const base = memoryStorage().offsets
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const store: OffsetStore = { ...base, put: async (...args) => (await gate, base.put(...args)) }
    const committer = new PositionCommitter(store, 'c', 't')
    committer.stage(0, { offset: 5, leaderEpoch: 1 })
    const flushed = committer.flush(0)
    expect(committer.committed(0)).toEqual({ offset: 5, leaderEpoch: 1 })
    release()
    await flushed
    expect(committer.committed(0)).toEqual({ offset: 5, leaderEpoch: 1 })
    expect(await base.get('c', 't', 0)).toEqual({ offset: 5, leaderEpoch: 1 })
  })
})
