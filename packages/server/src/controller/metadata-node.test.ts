import { describe, expect, it } from 'vitest'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { encodeMetadataImage } from './metadata/index.js'
import { SESSION_MS, startSingleVoter, type SingleVoter } from './testing/single-voter.js'

const startNode = (storage: MemoryLogStorage, clock: ManualClock, snapshotEveryEntries?: number) =>
  startSingleVoter(storage, clock, snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries })

async function active(n: SingleVoter): Promise<void> {
  for (let i = 0; i < 100 && !n.metadata.state().active; i++) await n.pump()
  expect(n.metadata.state().active).toBe(true)
}

describe('MetadataNode over a real RaftDriver', () => {
  it('answers NOT_CONTROLLER until it leads and has applied its term, then decides', async () => {
    const clock = new ManualClock()
    const n = await startNode(new MemoryLogStorage(), clock)
    await expect(n.metadata.registerBroker({ brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a:1' })).rejects.toMatchObject({ errorName: 'NOT_CONTROLLER' })
    await active(n)
    const r = await n.settle(n.metadata.registerBroker({ brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a:1' }))
    expect(r.brokerEpoch).toBe(1)
    expect(n.metadata.image.brokers.get(1)).toMatchObject({ brokerEpoch: 1, fenced: true, advertisedUrl: 'ws://a:1' })
    await n.stop()
  })

  it('builds consecutive decisions on its pending image: two registrations proposed at once get distinct epochs', async () => {
    const clock = new ManualClock()
    const n = await startNode(new MemoryLogStorage(), clock)
    await active(n)
    // Neither is applied when the second is decided: without the pending image both would take epoch 1 and the
    // second batch would break the image's invariant (and stop the driver).
    const a = n.metadata.registerBroker({ brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a:1' })
    const b = n.metadata.registerBroker({ brokerId: 2, previousBrokerEpoch: -1, advertisedUrl: 'ws://b:1' })
    expect([(await n.settle(a)).brokerEpoch, (await n.settle(b)).brokerEpoch]).toEqual([1, 2])
    expect(n.driver.failure).toBeNull()
    // A heartbeat after its registration is applied unfences; a topic then places its replicas on both.
    const offset = n.metadata.image.offset
    expect(await n.settle(n.metadata.heartbeat({ brokerId: 1, brokerEpoch: 1, caughtUpToMetadataOffset: offset }))).toEqual({ fenced: false, shouldShutDown: false })
    expect(await n.settle(n.metadata.heartbeat({ brokerId: 2, brokerEpoch: 2, caughtUpToMetadataOffset: offset }))).toEqual({ fenced: false, shouldShutDown: false })
    await n.settle(n.metadata.createTopic({ name: 'orders', partitions: 2, replicationFactor: 2 }))
    expect(n.metadata.image.topics.get('orders')!.partitions.map((p) => [...p.isr].sort())).toEqual([[1, 2], [1, 2]])
    // Two producer-id blocks asked at once are disjoint.
    const [x, y] = await Promise.all([n.settle(n.metadata.allocateProducerIds(1, 1)), n.settle(n.metadata.allocateProducerIds(2, 2))])
    expect(y.firstProducerId).toBe(x.firstProducerId + x.size)
    await n.stop()
  })

  it('fences a broker whose session expires, on its own timer, and moves its leadership within the ISR', async () => {
    const clock = new ManualClock()
    const n = await startNode(new MemoryLogStorage(), clock)
    await active(n)
    for (const id of [1, 2]) await n.settle(n.metadata.registerBroker({ brokerId: id, previousBrokerEpoch: -1, advertisedUrl: `ws://b${id}:1` }))
    for (const [id, epoch] of [[1, 1], [2, 2]] as const) await n.settle(n.metadata.heartbeat({ brokerId: id, brokerEpoch: epoch, caughtUpToMetadataOffset: n.metadata.image.offset }))
    await n.settle(n.metadata.createTopic({ name: 't', partitions: 2, replicationFactor: 2 }))
    const before = n.metadata.image.topics.get('t')!.partitions
    // Broker 2 keeps heartbeating, broker 1 goes silent.
    for (let elapsed = 0; elapsed <= 2 * SESSION_MS; elapsed += 300) {
      await n.settle(n.metadata.heartbeat({ brokerId: 2, brokerEpoch: 2, caughtUpToMetadataOffset: n.metadata.image.offset }))
      await n.pump(3)
    }
    const img = n.metadata.image
    expect(img.brokers.get(1)!.fenced).toBe(true)
    expect(img.brokers.get(2)!.fenced).toBe(false)
    img.topics.get('t')!.partitions.forEach((p, i) => {
      expect(p.leader).toBe(2)
      expect(p.isr).toEqual([2])
      if (before[i]!.leader === 1) expect(p.leaderEpoch).toBeGreaterThan(before[i]!.leaderEpoch)
    })
    await n.stop()
  })

  it('compacts behind snapshots of the image, and a restarted node restores the same image from them', async () => {
    const clock = new ManualClock()
    const storage = new MemoryLogStorage()
    const n = await startNode(storage, clock, 2)
    await active(n)
    for (const id of [1, 2, 3]) await n.settle(n.metadata.registerBroker({ brokerId: id, previousBrokerEpoch: -1, advertisedUrl: `ws://b${id}:1` }))
    await n.pump(2)
    const snapshot = n.store.view.snapshot()
    expect(snapshot.metadata.index).toBeGreaterThan(0)
    const image = encodeMetadataImage(n.metadata.image)
    await n.stop()

    const again = await startNode(storage, clock, 2)
    await again.pump(5)
    expect(encodeMetadataImage(again.metadata.image)).toEqual(image)
    await again.stop()
  })
})
