import { describe, expect, it } from 'vitest'
import { SamsaError, type FetchMetadataRequest, type FetchMetadataResponse } from '@samsa/shared'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { EMPTY_METADATA_IMAGE, encodeMetadataImage, type MetadataImage } from '../controller/metadata/index.js'
import { MetadataLogServer } from '../controller/metadata-log-server.js'
import { startSingleVoter, type SingleVoter } from '../controller/testing/single-voter.js'
import { MetadataObserver } from './metadata-observer.js'

/** Registers brokers 1..n and a topic on the voter: a few committed batches. */
async function someMetadata(v: SingleVoter, brokers: number[], topic: string): Promise<void> {
  for (const id of brokers) await v.settle(v.metadata.registerBroker({ brokerId: id, previousBrokerEpoch: -1, advertisedUrl: `ws://b${id}:1` }))
  for (const id of brokers) {
    const epoch = v.metadata.image.brokers.get(id)!.brokerEpoch
    await v.settle(v.metadata.heartbeat({ brokerId: id, brokerEpoch: epoch, caughtUpToMetadataOffset: v.metadata.image.offset }))
  }
  await v.settle(v.metadata.createTopic({ name: topic, partitions: 2, replicationFactor: brokers.length }))
}

/** Pumps the voter (and so the shared clock) until `pred` holds; fails after `ticks`. */
async function pumpUntil(v: SingleVoter, pred: () => boolean, what: string, ticks = 100): Promise<void> {
  for (let i = 0; i < ticks && !pred(); i++) await v.pump()
  if (!pred()) throw new Error(`not reached within ${ticks} ticks: ${what}`)
}

const sameImage = (a: MetadataImage, b: MetadataImage) => expect(encodeMetadataImage(a)).toEqual(encodeMetadataImage(b))

describe('MetadataObserver', () => {
  it('follows a voter batch by batch with the same apply code, learns the leader, and is woken by new batches', async () => {
    const clock = new ManualClock()
    const voter = await startSingleVoter(new MemoryLogStorage(), clock)
    await voter.activate()
    await someMetadata(voter, [1, 2], 'orders')
    const asked: FetchMetadataRequest[] = []
    const answers: FetchMetadataResponse[] = []
    const observer = new MetadataObserver({
      nodeId: 4,
      voters: [1],
      clock,
      sessionTimeoutMs: 2_000,
      fetch: async (_id, req) => {
        asked.push(req)
        const r = await voter.metadata.fetchMetadata(req)
        answers.push(r)
        return r
      },
    })
    const seen: number[] = []
    observer.onImage((_before, after) => seen.push(after.offset))
    observer.start()
    await pumpUntil(voter, () => observer.image.offset === voter.metadata.image.offset, 'the observer caught up')
    sameImage(observer.image, voter.metadata.image)
    expect(answers.every((a) => a.snapshot === null)).toBe(true)
    expect(seen.length).toBeGreaterThan(1)
    expect(observer.state()).toMatchObject({ active: false, role: 'observer', leaderId: 1, metadataOffset: voter.metadata.image.offset })
    expect(asked.at(-1)).toMatchObject({ knownLeaderId: 1, afterOffset: voter.metadata.image.offset })

    // A new batch reaches the waiting fetch at once: no timer has to fire for it.
    const fetchesBefore = asked.length
    const created = voter.metadata.createTopic({ name: 'later', partitions: 1, replicationFactor: 1 })
    await voter.settle(created)
    await pumpUntil(voter, () => observer.image.topics.has('later'), 'the new topic on the observer', 3)
    expect(asked.length - fetchesBefore).toBeLessThanOrEqual(2)
    sameImage(observer.image, voter.metadata.image)
    observer.stop()
    await voter.stop()
  })

  it('catches up from the image when the batches it lacks are compacted away, then follows batch by batch', async () => {
    const clock = new ManualClock()
    const voter = await startSingleVoter(new MemoryLogStorage(), clock, { snapshotEveryEntries: 2 })
    await voter.activate()
    await someMetadata(voter, [1, 2, 3], 'orders')
    const answers: FetchMetadataResponse[] = []
    const observer = new MetadataObserver({
      nodeId: 9,
      voters: [1],
      clock,
      sessionTimeoutMs: 2_000,
      fetch: async (_id, req) => {
        const r = await voter.metadata.fetchMetadata(req)
        answers.push(r)
        return r
      },
    })
    observer.start()
    await pumpUntil(voter, () => observer.image.offset === voter.metadata.image.offset, 'the observer caught up')
    expect(answers[0]!.snapshot).not.toBeNull()
    sameImage(observer.image, voter.metadata.image)
    await voter.settle(voter.metadata.deleteTopic('orders'))
    await pumpUntil(voter, () => !observer.image.topics.has('orders'), 'the deletion on the observer')
    expect(answers.at(-1)!.snapshot).toBeNull()
    sameImage(observer.image, voter.metadata.image)
    observer.stop()
    await voter.stop()
  })

  it('passes over a voter that fails or does not answer, prefers the leader an answer names, and forgets a leader that fails', async () => {
    const clock = new ManualClock()
    // The quorum's one real voter is node 3; voters 1 and 2 are down (1 refuses at once, 2 never answers).
    const voter = await startSingleVoter(new MemoryLogStorage(), clock, { nodeId: 3 })
    await voter.activate()
    await someMetadata(voter, [3], 'orders')
    const asked: number[] = []
    let threeUp = true
    const observer = new MetadataObserver({
      nodeId: 7,
      voters: [1, 2, 3],
      clock,
      sessionTimeoutMs: 2_000,
      fetch: (id, req) => {
        asked.push(id)
        if (id === 1 || (id === 3 && !threeUp)) return Promise.reject(new SamsaError('NETWORK_EXCEPTION', `node ${id} is down`))
        if (id === 2) return new Promise<never>(() => {})
        return voter.metadata.fetchMetadata(req)
      },
    })
    observer.start()
    await pumpUntil(voter, () => observer.image.offset === voter.metadata.image.offset, 'the observer caught up through voter 3')
    expect(asked.slice(0, 3)).toEqual([1, 2, 3])
    expect(observer.state().leaderId).toBe(3)
    const steady = asked.length
    await voter.pump(20)
    expect(asked.slice(steady).every((id) => id === 3)).toBe(true)

    threeUp = false
    await pumpUntil(voter, () => observer.state().leaderId === 0, 'the failed leader forgotten')
    const failedAt = asked.lastIndexOf(3)
    await pumpUntil(voter, () => asked.length > failedAt + 2, 'the next voters asked')
    expect(asked.slice(failedAt + 1, failedAt + 3)).toEqual([1, 2])
    threeUp = true
    await voter.settle(voter.metadata.registerBroker({ brokerId: 5, previousBrokerEpoch: -1, advertisedUrl: 'ws://b5:1' }))
    await pumpUntil(voter, () => observer.image.brokers.has(5), 'the observer back on voter 3', 200)
    expect(observer.state().leaderId).toBe(3)
    observer.stop()
    await voter.stop()
  })

  it('pauses before asking again when a voter answers at once with nothing new (a stopped or full metadata log server)', async () => {
    const clock = new ManualClock()
    // A voter shutting down: its log server answers every fetch at once, with nothing after the observer's offset.
    const server = new MetadataLogServer({ clock, current: () => ({ image: EMPTY_METADATA_IMAGE, leaderId: 1, term: 2 }) })
    server.stop()
    let asked = 0
    const observer = new MetadataObserver({
      nodeId: 4,
      voters: [1],
      clock,
      sessionTimeoutMs: 2_000,
      retryMs: 100,
      fetch: (_id, req) => {
        asked++
        return server.fetch(req)
      },
    })
    const flush = async () => {
      for (let i = 0; i < 200; i++) await Promise.resolve()
    }
    observer.start()
    await flush()
    const beforePause = asked
    clock.advance(100)
    await flush()
    const afterPause = asked
    observer.stop() // before asserting: a spinning observer would otherwise never yield
    // The first answer names the leader (something new); the second brings nothing: the third waits for the pause.
    expect(beforePause).toBe(2)
    expect(afterPause).toBe(3)
  })

  it('is no voter: refuses to observe a quorum it belongs to', () => {
    expect(() => new MetadataObserver({ nodeId: 1, voters: [1, 2, 3], clock: new ManualClock(), sessionTimeoutMs: 2_000, fetch: () => Promise.reject(new Error('unused')) })).toThrow(/is a controller voter/)
  })
})
