import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '@samsa/shared'
import { localPartitionChanges } from './metadata-delta.js'
import { applyBatch, applyRecord, EMPTY_METADATA_IMAGE, MetadataImageError, type MetadataImage } from './metadata-image.js'
import { decodeMetadataImage, encodeMetadataImage } from './metadata-image-codec.js'
import type { MetadataRecord, PartitionChangeRecord, TopicConfig } from './metadata-records.js'

const CONFIG: TopicConfig = { minInsyncReplicas: 2, retentionMs: null, retentionBytes: 1_000_000, segmentBytes: null }
const reg = (brokerId: number, brokerEpoch: number): MetadataRecord => ({ type: 'registerBroker', brokerId, brokerEpoch, advertisedUrl: `ws://b${brokerId}`, rack: null })
const unfence = (brokerId: number, brokerEpoch: number): MetadataRecord => ({ type: 'unfenceBroker', brokerId, brokerEpoch })
const pc = (over: Partial<PartitionChangeRecord>): PartitionChangeRecord => ({
  type: 'partitionChange', topic: 't', partition: 0, leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], partitionEpoch: 0, ...over,
})

/** Brokers 1-3 registered (epochs 1-3) and unfenced; topic t with 2 partitions, led by 1 and 2. */
function cluster(): MetadataImage {
  let img = applyBatch(EMPTY_METADATA_IMAGE, [reg(1, 1), reg(2, 2), reg(3, 3)], 0)
  img = applyBatch(img, [unfence(1, 1), unfence(2, 2), unfence(3, 3)], 1)
  return applyBatch(img, [
    { type: 'createTopic', name: 't', topicId: 'T1', partitions: 2, replicationFactor: 3, config: CONFIG },
    pc({}),
    pc({ partition: 1, leader: 2, replicas: [2, 3, 1], isr: [2, 3, 1] }),
  ], 2)
}

describe('MetadataImage: apply', () => {
  it('builds brokers, topics and partitions from records, at the batch offset', () => {
    const img = cluster()
    expect(img.offset).toBe(2)
    expect(img.nextBrokerEpoch).toBe(4)
    expect(img.brokers.get(2)).toEqual({ brokerId: 2, brokerEpoch: 2, advertisedUrl: 'ws://b2', rack: null, fenced: false, registeredAtOffset: 0 })
    const t = img.topics.get('t')!
    expect(t).toMatchObject({ name: 't', topicId: 'T1', createdAtOffset: 2, replicationFactor: 3, config: CONFIG })
    expect(t.partitions[1]).toEqual({ leader: 2, leaderEpoch: 0, replicas: [2, 3, 1], isr: [2, 3, 1], partitionEpoch: 0 })
  })

  it('never changes the image it is given', () => {
    const img = cluster()
    const before = encodeMetadataImage(img)
    const next = applyRecord(img, pc({ isr: [1, 2], partitionEpoch: 1 }), 3)
    expect(encodeMetadataImage(img)).toEqual(before)
    expect(next.topics.get('t')!.partitions[0]!.isr).toEqual([1, 2])
    expect(next.topics.get('t')!.partitions[1]).toBe(img.topics.get('t')!.partitions[1]) // unchanged parts are shared
  })

  it('lets an offline partition have an empty ISR (its last member came back incomplete), and nobody lead it from there', () => {
    const offline = applyRecord(cluster(), pc({ leader: -1, leaderEpoch: 1, isr: [], partitionEpoch: 1 }), 3)
    expect(offline.topics.get('t')!.partitions[0]).toMatchObject({ leader: -1, isr: [] })
    expect(() => applyRecord(offline, pc({ leader: 2, leaderEpoch: 2, isr: [2], partitionEpoch: 2 }), 4)).toThrow(/unclean election of 2/)
  })

  const refusals: [string, MetadataRecord[], RegExp][] = [
    ['an unclean election (a leader from outside the ISR)', [pc({ isr: [1, 2], partitionEpoch: 1 }), pc({ leader: 3, leaderEpoch: 1, isr: [3], partitionEpoch: 2 })], /unclean election of 3/],
    ['a leader outside the new ISR', [pc({ leader: 1, isr: [2, 3], partitionEpoch: 1 })], /leader 1 is not in the isr/],
    ['a leader change without a new leader epoch', [pc({ leader: 2, leaderEpoch: 0, partitionEpoch: 1 })], /without a new leader epoch/],
    ['a skipped partition epoch', [pc({ isr: [1, 2], partitionEpoch: 2 })], /partition epoch 2 after 0/],
    ['an ISR outside the replicas', [pc({ isr: [1, 4], partitionEpoch: 1 })], /not a subset of replicas/],
    ['a leader with an empty ISR', [pc({ isr: [], partitionEpoch: 1 })], /leader 1 with an empty isr/],
    ['fencing a broker that still leads', [{ type: 'fenceBroker', brokerId: 1, brokerEpoch: 1 }], /still leads t\/0/],
    ['a fenced leader', [pc({ isr: [1, 2], partitionEpoch: 1 }), pc({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 2 }), { type: 'fenceBroker', brokerId: 1, brokerEpoch: 1 }, pc({ leader: 1, leaderEpoch: 2, isr: [1, 2], partitionEpoch: 3 })], /leader 1 is not a registered unfenced broker/],
    ['a stale broker epoch', [{ type: 'producerIdsBlock', brokerId: 1, brokerEpoch: 7, firstProducerId: 0, size: 10 }], /epoch 7 is not the registered 1/],
    ['an overlapping producer-id block', [{ type: 'producerIdsBlock', brokerId: 1, brokerEpoch: 1, firstProducerId: 0, size: 10 }, { type: 'producerIdsBlock', brokerId: 2, brokerEpoch: 2, firstProducerId: 5, size: 10 }], /block at 5, expected 10/],
    ['a registration over an unfenced one', [reg(1, 9)], /registers again while its epoch 1 is unfenced/],
    ['a reused broker epoch', [{ type: 'fenceBroker', brokerId: 3, brokerEpoch: 3 }, reg(3, 3)], /epoch 3, below 4/],
    ['a topic created twice', [{ type: 'createTopic', name: 't', topicId: null, partitions: 1, replicationFactor: 1, config: CONFIG }], /already exists/],
    ['a change to a partition beyond the topic', [pc({ partition: 2 })], /beyond the topic's 2 partitions/],
  ]
  for (const [what, records, message] of refusals) {
    it(`refuses ${what}`, () => {
      expect(() => applyBatch(cluster(), records, 3)).toThrow(MetadataImageError)
      expect(() => applyBatch(cluster(), records, 3)).toThrow(message)
    })
  }

  it('refuses a batch that does not follow the image offset', () => {
    expect(() => applyBatch(cluster(), [], 2)).toThrow(/does not follow offset 2/)
  })
})

describe('MetadataImage: snapshot bytes', () => {
  it('encode a small image to the hand-assembled fixture, and decode it back', () => {
    const fixture = Uint8Array.from(Buffer.from(readFileSync(new URL('./testdata/metadata-image.hex', import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'))
    let img = applyBatch(EMPTY_METADATA_IMAGE, [{ type: 'registerBroker', brokerId: 1, brokerEpoch: 1, advertisedUrl: 'ws://a', rack: null }], 0)
    img = applyBatch(img, [unfence(1, 1)], 1)
    img = applyBatch(img, [
      { type: 'createTopic', name: 't', topicId: null, partitions: 1, replicationFactor: 1, config: { minInsyncReplicas: 1, retentionMs: null, retentionBytes: null, segmentBytes: null } },
      pc({ replicas: [1], isr: [1] }),
    ], 2)
    expect(Buffer.from(encodeMetadataImage(img)).toString('hex')).toBe(Buffer.from(fixture).toString('hex'))
    expect(decodeMetadataImage(fixture)).toEqual(img)
  })

  it('round-trip the image, and equal images encode to equal bytes whatever the insertion order', () => {
    const img = applyBatch(cluster(), [{ type: 'producerIdsBlock', brokerId: 1, brokerEpoch: 1, firstProducerId: 0, size: 1000 }, { type: 'fenceBroker', brokerId: 3, brokerEpoch: 3 }], 3)
    const bytes = encodeMetadataImage(img)
    expect(decodeMetadataImage(bytes)).toEqual(img)
    const reordered: MetadataImage = { ...img, brokers: new Map([...img.brokers].reverse()), topics: new Map([...img.topics].reverse()) }
    expect(encodeMetadataImage(reordered)).toEqual(bytes)
  })

  it('a topic\'s cleanup configs (a topicCleanup record) live in the image and in a tail of the snapshot; a snapshot without them reads as before', () => {
    const plain = cluster()
    expect(plain.topics.get('t')!.cleanup).toBeUndefined()
    const img = applyBatch(plain, [{ type: 'topicCleanup', name: 't', cleanupPolicy: 'compact', deleteRetentionMs: 1000 }], 3)
    expect(img.topics.get('t')!.cleanup).toEqual({ cleanupPolicy: 'compact', deleteRetentionMs: 1000 })
    expect(decodeMetadataImage(encodeMetadataImage(img))).toEqual(img)
    expect(encodeMetadataImage(img).subarray(0, encodeMetadataImage({ ...plain, offset: 3 }).length)).toEqual(encodeMetadataImage({ ...plain, offset: 3 }))
    expect(() => applyRecord(plain, { type: 'topicCleanup', name: 'nope', cleanupPolicy: 'compact', deleteRetentionMs: 0 }, 3)).toThrow(MetadataImageError)
  })

  it('decode truncations, random bytes and mutations to an image or ProtocolError, never another error', () => {
    const bytes = encodeMetadataImage(cluster())
    for (let n = 0; n < bytes.length; n++) expect(() => decodeMetadataImage(bytes.subarray(0, n))).toThrow(ProtocolError)
    expect(() => decodeMetadataImage(Uint8Array.from([...bytes, 0]))).toThrow(ProtocolError)
    const decodeOrProtocolError = (b: Uint8Array) => {
      try {
        decodeMetadataImage(b)
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodeOrProtocolError), { numRuns: 1000 })
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const b = bytes.slice()
        for (const [at, v] of flips) b[at % b.length] = v
        decodeOrProtocolError(b)
      }),
      { numRuns: 1000 },
    )
  })

  it('refuse a broker or topic count the bytes cannot hold, and duplicates', () => {
    const huge = Uint8Array.from([0, ...new Array(24).fill(0), 0xff, 0xff, 0xff, 0xff])
    expect(() => decodeMetadataImage(huge)).toThrow(/cannot fit/)
    const img = cluster()
    const twice = encodeMetadataImage({ ...img, topics: new Map([['t', img.topics.get('t')!], ['u', { ...img.topics.get('t')!, name: 't' }]]) })
    expect(() => decodeMetadataImage(twice)).toThrow(/topic t appears twice/)
  })
})

describe('localPartitionChanges', () => {
  it('tells a broker which partitions it now leads, follows, or no longer hosts', () => {
    const before = cluster()
    // 1 shrinks t/0's ISR (still leader); t/1 moves leadership to 3.
    const after = applyBatch(before, [pc({ isr: [1, 2], partitionEpoch: 1 }), pc({ partition: 1, leader: 3, leaderEpoch: 1, replicas: [2, 3, 1], isr: [3, 1], partitionEpoch: 1 })], 3)
    const for1 = localPartitionChanges(before, after, 1)
    expect(for1.leaders.map((p) => [p.topic, p.partition, p.registration.leaderEpoch])).toEqual([['t', 0, 0]])
    expect(for1.followers.map((p) => [p.partition, p.registration.leader])).toEqual([[1, 3]])
    expect(for1.removed).toEqual([])
    const for3 = localPartitionChanges(before, after, 3)
    expect(for3.leaders.map((p) => p.partition)).toEqual([1])
    expect(for3.followers.map((p) => p.partition)).toEqual([0])
    expect(localPartitionChanges(after, after, 1)).toEqual({ leaders: [], followers: [], removed: [] })
  })

  it('reports the replicas of a deleted topic, and of a topic created again under its name, as removed', () => {
    const before = cluster()
    const deleted = applyBatch(before, [{ type: 'deleteTopic', name: 't' }], 3)
    expect(localPartitionChanges(before, deleted, 2).removed).toEqual([{ topic: 't', topicId: 'T1', partition: 0 }, { topic: 't', topicId: 'T1', partition: 1 }])
    const recreated = applyBatch(deleted, [{ type: 'createTopic', name: 't', topicId: 'T2', partitions: 1, replicationFactor: 1, config: CONFIG }, pc({ replicas: [2], isr: [2], leader: 2 })], 4)
    const changes = localPartitionChanges(before, recreated, 2)
    expect(changes.removed.map((p) => [p.topicId, p.partition])).toEqual([['T1', 0], ['T1', 1]])
    expect(changes.leaders).toEqual([{ topic: 't', topicId: 'T2', partition: 0, registration: recreated.topics.get('t')!.partitions[0], previous: null }])
  })
})
