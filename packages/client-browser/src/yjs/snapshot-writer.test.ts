import { describe, expect, it } from 'vitest'
import type { RecordMetadata } from '../producer/producer-options.js'
import { snapshotDue } from './snapshot-writer.js'

const meta = (offset: number, topic = 'doc', partition = 0): RecordMetadata => ({ topic, partition, offset })

describe('snapshot election', () => {
  it('the client whose update lands at k·N − 1 is due at k·N; other offsets, topics and partitions change nothing', () => {
    expect(snapshotDue([meta(98)], 'doc', 100, null)).toBeNull()
    expect(snapshotDue([meta(99)], 'doc', 100, null)).toBe(100)
    expect(snapshotDue([meta(99, 'other'), meta(99, 'doc', 1)], 'doc', 100, null)).toBeNull()
  })

  it('keeps the furthest due offset, and N = 0 elects no one', () => {
    expect(snapshotDue([meta(199), meta(99)], 'doc', 100, null)).toBe(200)
    expect(snapshotDue([meta(99)], 'doc', 100, 300)).toBe(300)
    expect(snapshotDue([meta(99)], 'doc', 0, null)).toBeNull()
  })
})
