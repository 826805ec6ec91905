/**
 * Random sequences of cluster operations driven through the QuorumController and committed, through the record
 * codec, to the metadata image; after every step the image must keep the invariants replication relies on.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SamsaError } from '@samsa/shared'
import { allPartitions, type MetadataImage, type PartitionRegistration } from './metadata-image.js'
import { decodeMetadataImage, encodeMetadataImage } from './metadata-image-codec.js'
import { NO_LEADER, type MetadataRecord } from './metadata-records.js'
import { QuorumController } from './quorum-controller.js'
import { TestMetadataLog } from './testing/metadata-log.js'

const SESSION_MS = 1_000
const BROKERS = [1, 2, 3, 4, 5]
const TOPICS = ['a', 'b', 'c']

type Op =
  /** incomplete: the process names every replica it hosts as recovered incomplete. */
  | { op: 'register'; id: number; fresh: boolean; incomplete?: boolean }
  /** incomplete: the broker names the replicas it leads as found damaged by a read (reopened without committed records). */
  | { op: 'heartbeat'; id: number; caughtUp: boolean; shutDown: boolean; incomplete?: boolean }
  | { op: 'zombieHeartbeat'; id: number }
  | { op: 'advance'; ms: number }
  | { op: 'createTopic'; topic: number; partitions: number; rf: number }
  | { op: 'deleteTopic'; topic: number }
  | { op: 'alterPartition'; topic: number; partition: number; mask: number; stale: boolean }
  | { op: 'preferred' }
  | { op: 'allocate'; id: number }
  | { op: 'unregister'; id: number }

const id = fc.constantFrom(...BROKERS)
const topic = fc.nat({ max: TOPICS.length - 1 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('register' as const), id, fresh: fc.boolean(), incomplete: fc.nat({ max: 3 }).map((n) => n === 0) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('heartbeat' as const), id, caughtUp: fc.boolean(), shutDown: fc.nat({ max: 9 }).map((n) => n === 0), incomplete: fc.nat({ max: 9 }).map((n) => n === 0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('zombieHeartbeat' as const), id }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: SESSION_MS }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('createTopic' as const), topic, partitions: fc.integer({ min: 1, max: 4 }), rf: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteTopic' as const), topic }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('alterPartition' as const), topic, partition: fc.nat({ max: 3 }), mask: fc.nat({ max: 31 }), stale: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('preferred' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('allocate' as const), id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unregister' as const), id }) },
)

/** A running cluster to start from: some brokers registered and unfenced, some topics created. */
const setupArb: fc.Arbitrary<Op[]> = fc
  .tuple(fc.integer({ min: 1, max: BROKERS.length }), fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 })), { maxLength: TOPICS.length }))
  .map(([brokers, topics]) => [
    ...BROKERS.slice(0, brokers).flatMap((b): Op[] => [
      { op: 'register', id: b, fresh: true },
      { op: 'heartbeat', id: b, caughtUp: true, shutDown: false },
    ]),
    ...topics.map(([partitions, rf], i): Op => ({ op: 'createTopic', topic: i, partitions, rf })),
  ])

/** mulberry32: the controller's injected randomness, seeded per run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Topic identity across images: name + the offset of its createTopic. */
const key = (topicName: string, createdAtOffset: number, partition: number) => `${topicName}@${createdAtOffset}/${partition}`

class Checker {
  /** Per partition identity: the leader of each leader epoch ever seen. */
  readonly #leaderOfEpoch = new Map<string, Map<number, number>>()
  readonly #blocks: [number, number][] = []
  /** Checks that saw a partition with an empty ISR (offline after its last member came back incomplete). */
  emptyIsrSeen = 0

  check(prev: MetadataImage, next: MetadataImage, records: readonly MetadataRecord[]): void {
    const before = new Map<string, PartitionRegistration>()
    for (const { topic: t, partition, registration } of allPartitions(prev)) before.set(key(t.name, t.createdAtOffset, partition), registration)
    for (const { topic: t, partition, registration: p } of allPartitions(next)) {
      const where = key(t.name, t.createdAtOffset, partition)
      if (p.isr.length === 0) {
        expect(p.leader, `${where}: a leader with an empty isr`).toBe(NO_LEADER)
        this.emptyIsrSeen++
      }
      expect(p.isr.every((r) => p.replicas.includes(r)), `${where}: isr ⊆ replicas`).toBe(true)
      const unfenced = (b: number) => next.brokers.get(b)?.fenced === false
      if (p.leader !== NO_LEADER) {
        expect(p.isr, `${where}: leader ∈ isr`).toContain(p.leader)
        expect(unfenced(p.leader), `${where}: leader ${p.leader} is fenced or gone`).toBe(true)
        expect(p.isr.every(unfenced), `${where}: a live leader's isr [${p.isr.join(',')}] holds a fenced broker`).toBe(true)
      } else {
        expect(p.isr.some(unfenced), `${where}: offline although an isr member is unfenced`).toBe(false)
      }
      const epochs = this.#leaderOfEpoch.get(where) ?? new Map<number, number>()
      this.#leaderOfEpoch.set(where, epochs)
      const known = epochs.get(p.leaderEpoch)
      if (known !== undefined) expect(p.leader, `${where}: two leaders in leader epoch ${p.leaderEpoch}`).toBe(known)
      epochs.set(p.leaderEpoch, p.leader)
      const was = before.get(where)
      if (!was) continue
      expect(p.partitionEpoch, `${where}: partition epoch went back`).toBeGreaterThanOrEqual(was.partitionEpoch)
      if (p.partitionEpoch === was.partitionEpoch) expect(p, `${where}: changed without a new partition epoch`).toEqual(was)
      if (p.leader !== was.leader) {
        expect(p.leaderEpoch, `${where}: leader change without a higher leader epoch`).toBeGreaterThan(was.leaderEpoch)
        if (p.leader !== NO_LEADER) expect(was.isr, `${where}: unclean election of ${p.leader}`).toContain(p.leader)
      } else {
        expect(p.leaderEpoch).toBeGreaterThanOrEqual(was.leaderEpoch)
      }
    }
    for (const r of records) {
      if (r.type !== 'producerIdsBlock') continue
      const end = r.firstProducerId + r.size
      for (const [s, e] of this.#blocks) expect(end <= s || r.firstProducerId >= e, `producer ids [${r.firstProducerId}, ${end}) overlap [${s}, ${e})`).toBe(true)
      this.#blocks.push([r.firstProducerId, end])
    }
    expect(decodeMetadataImage(encodeMetadataImage(next))).toEqual(next)
  }
}

function run(seed: number, ops: readonly Op[], setup: readonly Op[] = []): { steps: number; refused: number; emptyIsrSeen: number } {
  const log = new TestMetadataLog()
  const controller = new QuorumController({ sessionTimeoutMs: SESSION_MS, producerIdBlockSize: 50 }, { random: seeded(seed) })
  const checker = new Checker()
  const epochs = new Map<number, number>()
  const oldEpochs = new Map<number, number[]>()
  let nowMs = 0
  let refused = 0
  const img = () => log.image

  const step = (op: Op): { records: MetadataRecord[] } => {
    switch (op.op) {
      case 'register': {
        const incompleteReplicas = op.incomplete ? [...allPartitions(img())].filter((p) => p.registration.replicas.includes(op.id)).map((p) => ({ topic: p.topic.name, partition: p.partition })) : []
        const r = controller.registerBroker(img(), { brokerId: op.id, previousBrokerEpoch: op.fresh ? -1 : (epochs.get(op.id) ?? -1), advertisedUrl: `ws://127.0.0.1:${op.id}`, incompleteReplicas }, nowMs)
        const old = epochs.get(op.id)
        if (old !== undefined) oldEpochs.set(op.id, [...(oldEpochs.get(op.id) ?? []), old])
        epochs.set(op.id, r.brokerEpoch)
        return r
      }
      case 'heartbeat': {
        const brokerEpoch = epochs.get(op.id) ?? 0
        const incompleteReplicas = op.incomplete ? [...allPartitions(img())].filter((p) => p.registration.leader === op.id).map((p) => ({ topic: p.topic.name, partition: p.partition })) : []
        return controller.heartbeat(img(), { brokerId: op.id, brokerEpoch, caughtUpToMetadataOffset: op.caughtUp ? img().offset : -1, wantShutDown: op.shutDown, incompleteReplicas }, nowMs)
      }
      case 'zombieHeartbeat': {
        const stale = oldEpochs.get(op.id)?.at(-1)
        if (stale === undefined) return { records: [] }
        const e = (() => {
          try {
            controller.heartbeat(img(), { brokerId: op.id, brokerEpoch: stale, caughtUpToMetadataOffset: img().offset }, nowMs)
          } catch (err) {
            return err
          }
          return undefined
        })()
        expect(e, `a heartbeat of broker ${op.id} with its replaced epoch ${stale} was accepted`).toBeInstanceOf(SamsaError)
        expect(['STALE_BROKER_EPOCH', 'BROKER_ID_NOT_REGISTERED']).toContain((e as SamsaError).errorName)
        return { records: [] }
      }
      case 'advance':
        nowMs += op.ms
        return controller.tick(img(), nowMs)
      case 'createTopic':
        return controller.createTopic(img(), { name: TOPICS[op.topic]!, partitions: op.partitions, replicationFactor: op.rf })
      case 'deleteTopic':
        return controller.deleteTopic(img(), TOPICS[op.topic]!)
      case 'alterPartition': {
        const p = img().topics.get(TOPICS[op.topic]!)?.partitions[op.partition]
        if (!p || p.leader === NO_LEADER) return { records: [] }
        const newIsr = [p.leader, ...p.replicas.filter((r, i) => r !== p.leader && (op.mask >> i) & 1)]
        return controller.alterPartition(img(), {
          brokerId: p.leader,
          brokerEpoch: epochs.get(p.leader)!,
          topic: TOPICS[op.topic]!,
          partition: op.partition,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: op.stale ? p.partitionEpoch - 1 : p.partitionEpoch,
          newIsr,
        })
      }
      case 'preferred':
        return controller.electPreferredLeaders(img())
      case 'allocate':
        return controller.allocateProducerIds(img(), op.id, epochs.get(op.id) ?? 0)
      case 'unregister':
        return controller.unregisterBroker(img(), op.id)
    }
  }

  const apply = (op: Op) => {
    let result: { records: MetadataRecord[] }
    try {
      result = step(op)
    } catch (e) {
      if (!(e instanceof SamsaError)) throw e
      refused++
      return
    }
    const prev = img()
    log.commit(result)
    checker.check(prev, img(), result.records)
  }

  for (const op of setup) apply(op)
  for (const op of ops) apply(op)
  // Every registered broker comes back and catches up: no partition stays offline while an ISR member is live.
  for (const b of [...img().brokers.keys()]) apply({ op: 'heartbeat', id: b, caughtUp: true, shutDown: false })
  for (const { topic: t, partition, registration: p } of allPartitions(img())) {
    if (p.isr.some((r) => img().brokers.get(r)?.fenced === false)) expect(p.leader, `${t.name}/${partition} offline with a live ISR member`).not.toBe(NO_LEADER)
  }
  return { steps: ops.length, refused, emptyIsrSeen: checker.emptyIsrSeen }
}

describe('QuorumController + MetadataImage under random operations', () => {
  it('keep leader ∈ isr ⊆ replicas, strictly rising leader epochs, no fenced leader, no unclean election, disjoint producer ids, exact snapshots', () => {
    let steps = 0
    let refused = 0
    let emptyIsrSeen = 0
    fc.assert(
      fc.property(fc.integer(), setupArb, fc.array(opArb, { minLength: 20, maxLength: 120, size: 'max' }), (seed, setup, ops) => {
        const r = run(seed, ops, setup)
        steps += r.steps
        refused += r.refused
        emptyIsrSeen += r.emptyIsrSeen
      }),
      { numRuns: 200 },
    )
    // The generator must mostly produce accepted operations, or the invariants would be checked on little.
    expect(refused).toBeLessThan(steps * 0.6)
    expect(emptyIsrSeen, 'no run emptied an ISR (an incomplete last member)').toBeGreaterThan(0)
  })

  it('replays a handcrafted schedule: the leader of a shrunken ISR dies, the partition waits offline, then its last ISR member returns', () => {
    const result = run(1, [
      { op: 'register', id: 1, fresh: true },
      { op: 'register', id: 2, fresh: true },
      { op: 'heartbeat', id: 1, caughtUp: true, shutDown: false },
      { op: 'heartbeat', id: 2, caughtUp: true, shutDown: false },
      { op: 'createTopic', topic: 0, partitions: 1, rf: 2 },
      { op: 'alterPartition', topic: 0, partition: 0, mask: 0, stale: false },
      { op: 'advance', ms: SESSION_MS + 1 },
      { op: 'register', id: 1, fresh: true },
      { op: 'register', id: 2, fresh: true },
    ])
    expect(result.refused).toBe(0)
  })
})
