import { describe, expect, it } from 'vitest'
import { ManualClock } from '../log/testing/manual-clock.js'
import { applyBatch, EMPTY_METADATA_IMAGE, type MetadataImage } from '../controller/metadata/metadata-image.js'
import type { PartitionChangeRecord, TopicConfig } from '../controller/metadata/metadata-records.js'
import { differsFrom, MetadataWaits } from './metadata-waits.js'

const CONFIG: TopicConfig = { minInsyncReplicas: 2, retentionMs: null, retentionBytes: 1_000_000, segmentBytes: null }
const pc = (over: Partial<PartitionChangeRecord>): PartitionChangeRecord => ({
  type: 'partitionChange', topic: 't', partition: 0, leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], partitionEpoch: 0, ...over,
})

/** Topic t with 2 partitions led by 1 and 2 at leader epoch 0. */
function withTopic(): MetadataImage {
  const brokers = applyBatch(EMPTY_METADATA_IMAGE, [1, 2, 3].map((id) => ({ type: 'registerBroker' as const, brokerId: id, brokerEpoch: id, advertisedUrl: `ws://b${id}`, rack: null })), 0)
  const unfenced = applyBatch(brokers, [1, 2, 3].map((id) => ({ type: 'unfenceBroker' as const, brokerId: id, brokerEpoch: id })), 1)
  return applyBatch(unfenced, [
    { type: 'createTopic', name: 't', topicId: 'T1', partitions: 2, replicationFactor: 3, config: CONFIG },
    pc({}),
    pc({ partition: 1, leader: 2, replicas: [2, 3, 1] }),
  ], 2)
}

/** A connection whose close the test triggers. */
function connection() {
  const onClose = new Set<() => void>()
  return {
    onCancel: (cancel: () => void) => {
      onClose.add(cancel)
      return () => void onClose.delete(cancel)
    },
    close: () => onClose.forEach((f) => f()),
    registered: () => onClose.size,
  }
}

/** Resolves to 'answered' if `p` has settled by the time queued microtasks ran, else 'held'. */
async function state(p: Promise<void>): Promise<'answered' | 'held'> {
  return Promise.race([p.then(() => 'answered' as const), new Promise<'held'>((r) => setImmediate(() => r('held')))])
}

describe('differsFrom', () => {
  const img = withTopic()
  it('is false when the client knows every partition at its current leader epoch (or a newer one)', () => {
    expect(differsFrom(img, ['t'], [[0, 0]])).toBe(false)
    expect(differsFrom(img, ['t'], [[3, 0]])).toBe(false)
    expect(differsFrom(img, ['nope'], [[]])).toBe(false)
  })
  it('is true for a newer leader epoch, another partition count, or a topic created or deleted', () => {
    const moved = applyBatch(img, [pc({ partition: 1, leader: 3, leaderEpoch: 1, replicas: [2, 3, 1], partitionEpoch: 1 })], 3)
    expect(differsFrom(moved, ['t'], [[0, 0]])).toBe(true)
    expect(differsFrom(img, ['t'], [[0, 0, 0]])).toBe(true)
    expect(differsFrom(img, ['t'], [[]])).toBe(true)
    expect(differsFrom(EMPTY_METADATA_IMAGE, ['t'], [[0, 0]])).toBe(true)
  })
})

describe('MetadataWaits', () => {
  it('answers at once when the image already differs, or when no wait is asked', async () => {
    const clock = new ManualClock()
    const waits = new MetadataWaits(withTopic, clock)
    const c = connection()
    expect(await state(waits.wait(['t'], { maxWaitMs: 10_000, leaderEpochs: [[]] }, c.onCancel))).toBe('answered')
    expect(await state(waits.wait(['t'], { maxWaitMs: 0, leaderEpochs: [[0, 0]] }, c.onCancel))).toBe('answered')
    expect(waits.size).toBe(0)
    expect(clock.pendingTimers).toBe(0)
  })

  it('holds a wait until an image change differs from it; changes that do not leave it held', async () => {
    let image = withTopic()
    const clock = new ManualClock()
    const waits = new MetadataWaits(() => image, clock)
    const c = connection()
    const held = waits.wait(['t'], { maxWaitMs: 10_000, leaderEpochs: [[0, 0]] }, c.onCancel)
    expect(await state(held)).toBe('held')
    expect(waits.size).toBe(1)
    // An ISR change keeps the leader epoch: nothing new for a leader watch.
    image = applyBatch(image, [pc({ isr: [1, 2], partitionEpoch: 1 })], 3)
    waits.imageChanged(image)
    expect(await state(held)).toBe('held')
    image = applyBatch(image, [pc({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 2 })], 4)
    waits.imageChanged(image)
    expect(await state(held)).toBe('answered')
    expect(waits.size).toBe(0)
    expect(clock.pendingTimers).toBe(0)
    expect(c.registered()).toBe(0)
  })

  it('answers at maxWaitMs, when its connection closes, and at close()', async () => {
    const clock = new ManualClock()
    const waits = new MetadataWaits(withTopic, clock)
    const c1 = connection()
    const c2 = connection()
    const timed = waits.wait(['t'], { maxWaitMs: 5_000, leaderEpochs: [[0, 0]] }, c1.onCancel)
    const closed = waits.wait(['t'], { maxWaitMs: 30_000, leaderEpochs: [[0, 0]] }, c2.onCancel)
    const shutdown = waits.wait(['t'], { maxWaitMs: 30_000, leaderEpochs: [[0, 0]] }, c1.onCancel)
    clock.advance(4_999)
    expect(await state(timed)).toBe('held')
    clock.advance(1)
    expect(await state(timed)).toBe('answered')
    c2.close()
    expect(await state(closed)).toBe('answered')
    expect(await state(shutdown)).toBe('held')
    waits.close()
    expect(await state(shutdown)).toBe('answered')
    expect(waits.size).toBe(0)
    expect(clock.pendingTimers).toBe(0)
  })
})
