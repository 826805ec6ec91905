import { describe, expect, it } from 'vitest'
import { SamsaError } from '@samsa/shared'
import type { MetadataImage } from './metadata-image.js'
import { NO_LEADER } from './metadata-records.js'
import { QuorumController } from './quorum-controller.js'
import { TestMetadataLog } from './testing/metadata-log.js'

const SESSION_MS = 9_000

function setup(random = () => 0) {
  const log = new TestMetadataLog()
  const controller = new QuorumController({ sessionTimeoutMs: SESSION_MS, producerIdBlockSize: 100 }, { random })
  const epochs = new Map<number, number>()
  /** Registers and unfences brokers (heartbeat once caught up), at time nowMs. */
  const join = (ids: number[], nowMs = 0) => {
    for (const id of ids) {
      const r = controller.registerBroker(log.image, { brokerId: id, previousBrokerEpoch: epochs.get(id) ?? -1, advertisedUrl: `ws://127.0.0.1:${8080 + id}` }, nowMs)
      log.commit(r)
      epochs.set(id, r.brokerEpoch)
      log.commit(controller.heartbeat(log.image, { brokerId: id, brokerEpoch: r.brokerEpoch, caughtUpToMetadataOffset: log.image.offset }, nowMs))
    }
  }
  const heartbeat = (id: number, nowMs: number, extra: { wantShutDown?: boolean; incompleteReplicas?: { topic: string; partition: number }[] } = {}) => {
    const r = controller.heartbeat(log.image, { brokerId: id, brokerEpoch: epochs.get(id)!, caughtUpToMetadataOffset: log.image.offset, ...extra }, nowMs)
    log.commit(r)
    return r
  }
  const partition = (image: MetadataImage, topic: string, p: number) => image.topics.get(topic)!.partitions[p]!
  return { log, controller, epochs, join, heartbeat, partition }
}

function errorOf(fn: () => unknown): SamsaError {
  try {
    fn()
  } catch (e) {
    if (e instanceof SamsaError) return e
    throw e
  }
  throw new Error('expected a SamsaError')
}

describe('QuorumController: topic cleanup configs', () => {
  it('a createTopic with non-default cleanup configs carries a topicCleanup record in its batch; with the defaults, none', () => {
    const { log, controller, join } = setup()
    join([1])
    const compacted = controller.createTopic(log.image, { name: 'c', partitions: 1, replicationFactor: 1, cleanup: { cleanupPolicy: 'compact', deleteRetentionMs: 5 } })
    expect(compacted.records).toContainEqual({ type: 'topicCleanup', name: 'c', cleanupPolicy: 'compact', deleteRetentionMs: 5 })
    log.commit(compacted)
    expect(log.image.topics.get('c')!.cleanup).toEqual({ cleanupPolicy: 'compact', deleteRetentionMs: 5 })
    const plain = controller.createTopic(log.image, { name: 'p', partitions: 1, replicationFactor: 1, cleanup: { cleanupPolicy: 'delete', deleteRetentionMs: 86_400_000 } })
    expect(plain.records.some((r) => r.type === 'topicCleanup')).toBe(false)
  })
})

describe('QuorumController: brokers', () => {
  it('registers each broker with a new, never reused epoch; it starts fenced at the offset of its registration', () => {
    const { log, controller } = setup()
    const a = controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a' }, 0)
    log.commit(a)
    const b = controller.registerBroker(log.image, { brokerId: 2, previousBrokerEpoch: -1, advertisedUrl: 'ws://b', rack: 'r2' }, 0)
    log.commit(b)
    expect([a.brokerEpoch, b.brokerEpoch]).toEqual([1, 2])
    expect(log.image.brokers.get(2)).toEqual({ brokerId: 2, brokerEpoch: 2, advertisedUrl: 'ws://b', rack: 'r2', fenced: true, registeredAtOffset: 1 })
  })

  it('unfences a broker only once it has applied the log up to its registration', () => {
    const { log, controller } = setup()
    log.commit({ records: [{ type: 'createTopic', name: 'filler', topicId: null, partitions: 1, replicationFactor: 1, config: { minInsyncReplicas: 1, retentionMs: null, retentionBytes: null, segmentBytes: null } }] })
    const r = controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a' }, 0)
    log.commit(r)
    const behind = controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: r.brokerEpoch, caughtUpToMetadataOffset: 0 }, 10)
    expect(behind).toEqual({ records: [], fenced: true, shouldShutDown: false })
    const caughtUp = controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: r.brokerEpoch, caughtUpToMetadataOffset: 1 }, 20)
    expect(caughtUp.fenced).toBe(false)
    expect(log.commit(caughtUp).brokers.get(1)!.fenced).toBe(false)
  })

  it('refuses a registration over a live broker: a fresh process waits (DUPLICATE_BROKER_REGISTRATION), an old epoch is a zombie (STALE_BROKER_EPOCH)', () => {
    const { log, controller, join, epochs } = setup()
    join([1])
    const first = epochs.get(1)!
    const fresh = errorOf(() => controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a' }, 1_000))
    expect(fresh.errorName).toBe('DUPLICATE_BROKER_REGISTRATION')
    // The live process re-registers (say, after a controller failover): a new epoch.
    const again = controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: first, advertisedUrl: 'ws://a' }, 1_000)
    log.commit(again)
    expect(again.brokerEpoch).toBeGreaterThan(first)
    log.commit(controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: again.brokerEpoch, caughtUpToMetadataOffset: log.image.offset }, 1_000))
    const zombie = errorOf(() => controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: first, advertisedUrl: 'ws://a' }, 2_000))
    expect(zombie).toMatchObject({ errorName: 'STALE_BROKER_EPOCH', details: { brokerId: 1, brokerEpoch: again.brokerEpoch } })
    const zombieHeartbeat = errorOf(() => controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: first, caughtUpToMetadataOffset: log.image.offset }, 2_000))
    expect(zombieHeartbeat.errorName).toBe('STALE_BROKER_EPOCH')
    const allocate = errorOf(() => controller.allocateProducerIds(log.image, 1, first))
    expect(allocate.errorName).toBe('STALE_BROKER_EPOCH')
  })

  it('lets a fresh process register once the old session has expired, fencing the old registration in the same batch', () => {
    const { log, controller, join, partition } = setup()
    join([1, 2], 0)
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 2 }))
    const leader = partition(log.image, 't', 0).leader
    const r = controller.registerBroker(log.image, { brokerId: leader, previousBrokerEpoch: -1, advertisedUrl: 'ws://new' }, SESSION_MS + 1)
    expect(r.records.map((x) => x.type)).toEqual(['partitionChange', 'fenceBroker', 'registerBroker'])
    log.commit(r)
    expect(partition(log.image, 't', 0).leader).not.toBe(leader)
  })

  it('takes a broker registering with incomplete replicas out of their ISRs; the last member of an offline ISR empties it, so nobody is elected', () => {
    const { log, controller, join, heartbeat, partition } = setup()
    join([1, 2, 3], 0)
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 2 }))
    const { leader: last, replicas } = partition(log.image, 't', 0)
    const other = replicas.find((r) => r !== last)!
    heartbeat(other, 0, { wantShutDown: true }) // the ISR shrinks to the leader
    heartbeat(last, 0, { wantShutDown: true }) // offline; the ISR keeps its last member
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: NO_LEADER, isr: [last] })

    const incompleteReplicas = [{ topic: 't', partition: 0 }, { topic: 't', partition: 0 }, { topic: 'gone', partition: 0 }, { topic: 't', partition: 7 }]
    const r = controller.registerBroker(log.image, { brokerId: last, previousBrokerEpoch: -1, advertisedUrl: 'ws://again', incompleteReplicas }, 1)
    expect(r.records.map((x) => x.type)).toEqual(['partitionChange', 'registerBroker'])
    log.commit(r)
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: NO_LEADER, isr: [] })
    for (const id of [last, other]) {
      const again = controller.registerBroker(log.image, { brokerId: id, previousBrokerEpoch: -1, advertisedUrl: 'ws://again' }, 2)
      expect(again.records.map((x) => x.type)).toEqual(['registerBroker']) // nothing reported: nothing to change
      log.commit(again)
      log.commit(controller.heartbeat(log.image, { brokerId: id, brokerEpoch: again.brokerEpoch, caughtUpToMetadataOffset: log.image.offset }, 2))
      expect(log.image.brokers.get(id)!.fenced).toBe(false)
    }
    // Unclean election stays off: neither the incomplete replica nor the one outside the ISR leads.
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: NO_LEADER, isr: [] })
    expect(controller.electPreferredLeaders(log.image).records).toEqual([])
  })

  it('takes a live broker registering again with an incomplete replica out of that ISR after moving its leadership', () => {
    const { log, controller, join, epochs, partition } = setup()
    join([1, 2, 3], 0)
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 3 }))
    const before = partition(log.image, 't', 0)
    const r = controller.registerBroker(log.image, { brokerId: before.leader, previousBrokerEpoch: epochs.get(before.leader)!, advertisedUrl: 'ws://a', incompleteReplicas: [{ topic: 't', partition: 0 }] }, 1)
    log.commit(r)
    const after = partition(log.image, 't', 0)
    expect(after.isr).toEqual(before.isr.filter((x) => x !== before.leader))
    expect(after.leader).toBe(after.isr[0])
    expect(after.leaderEpoch).toBe(before.leaderEpoch + 1)
  })

  it('takes a leader reporting a replica incomplete in a heartbeat out of that ISR and elects the next ISR member; the last member leaves it offline', () => {
    const { log, controller, join, heartbeat, partition } = setup()
    join([1, 2, 3], 0)
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 3 }))
    const before = partition(log.image, 't', 0)
    const [next, last] = before.replicas.filter((r) => r !== before.leader) as [number, number]
    const incompleteReplicas = [{ topic: 't', partition: 0 }]
    const r = heartbeat(before.leader, 1, { incompleteReplicas })
    expect(r.records.map((x) => x.type)).toEqual(['partitionChange'])
    expect(r.fenced).toBe(false)
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: next, leaderEpoch: before.leaderEpoch + 1, isr: before.isr.filter((x) => x !== before.leader) })
    expect(heartbeat(before.leader, 2, { incompleteReplicas }).records).toEqual([]) // out of the ISR already: nothing to change

    // The leader's ISR shrinks to itself; reporting it incomplete then leaves the partition offline with an empty ISR.
    heartbeat(last, 3, { wantShutDown: true })
    log.commit(controller.alterPartition(log.image, { brokerId: next, brokerEpoch: log.image.brokers.get(next)!.brokerEpoch, topic: 't', partition: 0, leaderEpoch: partition(log.image, 't', 0).leaderEpoch, partitionEpoch: partition(log.image, 't', 0).partitionEpoch, newIsr: [next] }))
    heartbeat(next, 4, { incompleteReplicas })
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: NO_LEADER, isr: [] })
  })

  it('fences a broker whose last heartbeat is older than the session timeout, not one at the timeout', () => {
    const { log, controller, join, heartbeat } = setup()
    join([1, 2], 0)
    heartbeat(2, 5_000)
    expect(controller.tick(log.image, SESSION_MS).records).toEqual([])
    const t = controller.tick(log.image, SESSION_MS + 1)
    expect(t.fenced).toEqual([1])
    log.commit(t)
    expect(log.image.brokers.get(1)!.fenced).toBe(true)
    expect(log.image.brokers.get(2)!.fenced).toBe(false)
    expect(controller.lastHeartbeatMs(2)).toBe(5_000)
  })

  it('gives every broker a full session when a controller becomes active, so a failover fences no live broker', () => {
    const { log, join } = setup()
    join([1, 2], 0)
    const next = new QuorumController({ sessionTimeoutMs: SESSION_MS }, { random: () => 0 })
    next.activate(log.image, 50_000)
    expect(next.tick(log.image, 50_000 + SESSION_MS).records).toEqual([])
    expect(next.tick(log.image, 50_001 + SESSION_MS).fenced).toEqual([1, 2])
  })

  it('counts the former active controller\'s session from when it was last heard, but gives it half a session to reach the new one', () => {
    const { log, join } = setup()
    join([1, 2, 3], 0)
    // Broker 1 led the quorum and went silent at 48,000; broker 3 took over at 50,000.
    const next = new QuorumController({ sessionTimeoutMs: SESSION_MS }, { random: () => 0 })
    next.activate(log.image, 50_000, { brokerId: 1, lastContactMs: 48_000 })
    expect(next.tick(log.image, 48_000 + SESSION_MS).records).toEqual([])
    expect(next.tick(log.image, 48_001 + SESSION_MS).fenced).toEqual([1])
    // Heard from just before the failover: still half a session from activation, not less.
    const other = new QuorumController({ sessionTimeoutMs: SESSION_MS }, { random: () => 0 })
    other.activate(log.image, 50_000, { brokerId: 1, lastContactMs: 30_000 })
    expect(other.tick(log.image, 50_000 + SESSION_MS / 2).records).toEqual([])
    expect(other.tick(log.image, 50_001 + SESSION_MS / 2).fenced).toEqual([1])
    // A former controller that heartbeats the new one keeps its session like any broker.
    const third = new QuorumController({ sessionTimeoutMs: SESSION_MS }, { random: () => 0 })
    third.activate(log.image, 50_000, { brokerId: 1, lastContactMs: 30_000 })
    third.heartbeat(log.image, { brokerId: 1, brokerEpoch: log.image.brokers.get(1)!.brokerEpoch, caughtUpToMetadataOffset: log.image.offset }, 52_000)
    expect(third.tick(log.image, 52_000 + SESSION_MS).fenced).toEqual([2, 3])
  })

  it('unregisters a broker, fencing it first', () => {
    const { log, controller, join } = setup()
    join([1])
    const r = controller.unregisterBroker(log.image, 1)
    expect(r.records.map((x) => x.type)).toEqual(['fenceBroker', 'unregisterBroker'])
    expect(log.commit(r).brokers.has(1)).toBe(false)
    expect(errorOf(() => controller.unregisterBroker(log.image, 1)).errorName).toBe('BROKER_ID_NOT_REGISTERED')
    expect(errorOf(() => controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: 1, caughtUpToMetadataOffset: 9 }, 0)).errorName).toBe('BROKER_ID_NOT_REGISTERED')
  })

  it('bounds the registered brokers (POLICY_VIOLATION) but lets a registered one register again', () => {
    const log = new TestMetadataLog()
    const controller = new QuorumController({ maxBrokers: 2 }, { random: () => 0 })
    log.commit(controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a' }, 0))
    log.commit(controller.registerBroker(log.image, { brokerId: 2, previousBrokerEpoch: -1, advertisedUrl: 'ws://b' }, 0))
    expect(errorOf(() => controller.registerBroker(log.image, { brokerId: 3, previousBrokerEpoch: -1, advertisedUrl: 'ws://c' }, 0))).toMatchObject({ errorName: 'POLICY_VIOLATION', details: { maxBrokers: 2 } })
    log.commit(controller.registerBroker(log.image, { brokerId: 2, previousBrokerEpoch: 2, advertisedUrl: 'ws://b' }, 0))
  })

  it('refuses a bad broker id or advertised URL', () => {
    const { log, controller } = setup()
    expect(errorOf(() => controller.registerBroker(log.image, { brokerId: -1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a' }, 0)).errorName).toBe('INVALID_REQUEST')
    expect(errorOf(() => controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: '' }, 0)).errorName).toBe('INVALID_REQUEST')
  })
})

describe('QuorumController: topics', () => {
  it('places replicas round robin from a random start, the first replica leading, every replica in the ISR, epochs 0', () => {
    const { log, controller, join } = setup(() => 0.5)
    join([1, 2, 3])
    const r = controller.createTopic(log.image, { name: 'orders', partitions: 4, replicationFactor: 3 })
    // startIndex = replicaShift = floor(0.5 × 3) = 1
    expect(r.replicas).toEqual([
      [2, 1, 3],
      [3, 2, 1],
      [1, 3, 2],
      [2, 3, 1],
    ])
    const topic = log.commit(r).topics.get('orders')!
    expect(topic.config).toEqual({ minInsyncReplicas: 2, retentionMs: null, retentionBytes: null, segmentBytes: null })
    expect(topic.partitions[0]).toEqual({ leader: 2, leaderEpoch: 0, replicas: [2, 1, 3], isr: [2, 1, 3], partitionEpoch: 0 })
  })

  it('validates name, existence, partitions, replication factor against live brokers, and config', () => {
    const { log, controller, join } = setup()
    join([1, 2])
    const create = (req: Parameters<QuorumController['createTopic']>[1]) => errorOf(() => controller.createTopic(log.image, req))
    expect(create({ name: 'a b', partitions: 1, replicationFactor: 1 }).errorName).toBe('INVALID_TOPIC_EXCEPTION')
    expect(create({ name: 't', partitions: 0, replicationFactor: 1 }).errorName).toBe('INVALID_PARTITIONS')
    expect(create({ name: 't', partitions: 1.5, replicationFactor: 1 }).errorName).toBe('INVALID_PARTITIONS')
    expect(create({ name: 't', partitions: 1, replicationFactor: 3 })).toMatchObject({ errorName: 'INVALID_REPLICATION_FACTOR', details: { liveBrokers: 2 } })
    expect(create({ name: 't', partitions: 1, replicationFactor: 0 }).errorName).toBe('INVALID_REPLICATION_FACTOR')
    expect(create({ name: 't', partitions: 1, replicationFactor: 2, config: { minInsyncReplicas: 3 } }).errorName).toBe('INVALID_CONFIG')
    expect(create({ name: 't', partitions: 1, replicationFactor: 2, config: { retentionMs: 0 } }).errorName).toBe('INVALID_CONFIG')
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 2, topicId: 'id-1' }))
    expect(create({ name: 't', partitions: 1, replicationFactor: 1 }).errorName).toBe('TOPIC_ALREADY_EXISTS')
    expect(create({ name: 'u', partitions: 1, replicationFactor: 1, topicId: 'id-1' }).errorName).toBe('INVALID_REQUEST')
  })

  it('bounds the topics and partitions of the cluster (POLICY_VIOLATION), counting what is already created', () => {
    const log = new TestMetadataLog()
    const controller = new QuorumController({ maxTopics: 2, maxPartitions: 5 }, { random: () => 0 })
    log.commit(controller.registerBroker(log.image, { brokerId: 1, previousBrokerEpoch: -1, advertisedUrl: 'ws://a' }, 0))
    log.commit(controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: 1, caughtUpToMetadataOffset: 0 }, 0))
    log.commit(controller.createTopic(log.image, { name: 'a', partitions: 3, replicationFactor: 1 }))
    expect(errorOf(() => controller.createTopic(log.image, { name: 'b', partitions: 3, replicationFactor: 1 }))).toMatchObject({ errorName: 'POLICY_VIOLATION', details: { maxPartitions: 5, partitions: 3 } })
    log.commit(controller.createTopic(log.image, { name: 'b', partitions: 2, replicationFactor: 1 }))
    expect(errorOf(() => controller.createTopic(log.image, { name: 'c', partitions: 1, replicationFactor: 1 }))).toMatchObject({ errorName: 'POLICY_VIOLATION', details: { maxTopics: 2 } })
  })

  it('counts only unfenced brokers as live for the replication factor', () => {
    const { log, controller, join } = setup()
    join([1, 2, 3])
    log.commit(controller.tick(log.image, SESSION_MS + 1)) // all three silent: fenced
    expect(errorOf(() => controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 1 })).details).toEqual({ liveBrokers: 0 })
  })

  it('gives every topic an id from its random source: a topic created again under its name is another topic; ids never repeat among live topics', () => {
    let seed = 7
    const { log, controller, join } = setup(() => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647))
    join([1])
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 1 }))
    const first = log.image.topics.get('t')!.topicId
    expect(first).toMatch(/^[0-9a-f]{32}$/)
    log.commit(controller.deleteTopic(log.image, 't'))
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 1, replicationFactor: 1 }))
    expect(log.image.topics.get('t')!.topicId).toMatch(/^[0-9a-f]{32}$/)
    expect(log.image.topics.get('t')!.topicId).not.toBe(first)
    // A constant random (tests) still yields distinct ids among live topics.
    const constant = setup(() => 0)
    constant.join([1])
    for (const name of ['a', 'b', 'c']) constant.log.commit(constant.controller.createTopic(constant.log.image, { name, partitions: 1, replicationFactor: 1 }))
    expect(new Set([...constant.log.image.topics.values()].map((t) => t.topicId)).size).toBe(3)
  })

  it('deletes a topic; an unknown one is UNKNOWN_TOPIC_OR_PARTITION', () => {
    const { log, controller, join } = setup()
    join([1])
    log.commit(controller.createTopic(log.image, { name: 't', partitions: 2, replicationFactor: 1 }))
    expect(log.commit(controller.deleteTopic(log.image, 't')).topics.has('t')).toBe(false)
    expect(errorOf(() => controller.deleteTopic(log.image, 't')).errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })
})

describe('QuorumController: leader election', () => {
  function threeBrokers() {
    const s = setup()
    s.join([1, 2, 3])
    s.log.commit(s.controller.createTopic(s.log.image, { name: 't', partitions: 3, replicationFactor: 3 }))
    return s
  }

  it('on fencing a leader elects the first replica in the rest of the ISR, bumps both epochs, and drops it from the ISRs it follows', () => {
    const { log, controller, heartbeat, partition } = threeBrokers()
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: 1, replicas: [1, 2, 3] })
    heartbeat(2, SESSION_MS)
    heartbeat(3, SESSION_MS)
    log.commit(controller.tick(log.image, SESSION_MS + 1))
    expect(partition(log.image, 't', 0)).toEqual({ leader: 2, leaderEpoch: 1, replicas: [1, 2, 3], isr: [2, 3], partitionEpoch: 1 })
    expect(partition(log.image, 't', 1)).toMatchObject({ leader: 2, leaderEpoch: 0, isr: [2, 3], partitionEpoch: 1 })
  })

  it('never elects outside the ISR: with its last member fenced the partition goes offline keeping that member, which leads again on return', () => {
    const { log, controller, heartbeat, partition, epochs } = threeBrokers()
    // The leader shrinks the ISR of t/0 to itself.
    log.commit(controller.alterPartition(log.image, { brokerId: 1, brokerEpoch: epochs.get(1)!, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1] }))
    heartbeat(2, SESSION_MS)
    heartbeat(3, SESSION_MS)
    log.commit(controller.tick(log.image, SESSION_MS + 1))
    expect(partition(log.image, 't', 0)).toEqual({ leader: NO_LEADER, leaderEpoch: 1, replicas: [1, 2, 3], isr: [1], partitionEpoch: 2 })
    heartbeat(1, SESSION_MS + 2)
    expect(log.image.brokers.get(1)!.fenced).toBe(false)
    expect(partition(log.image, 't', 0)).toEqual({ leader: 1, leaderEpoch: 2, replicas: [1, 2, 3], isr: [1], partitionEpoch: 3 })
  })

  it('on a controlled shutdown moves leadership away, fences the broker and tells it to shut down', () => {
    const { log, controller, partition, epochs } = threeBrokers()
    const r = controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: epochs.get(1)!, caughtUpToMetadataOffset: log.image.offset, wantShutDown: true }, 100)
    expect(r).toMatchObject({ fenced: true, shouldShutDown: true })
    log.commit(r)
    for (let p = 0; p < 3; p++) expect(partition(log.image, 't', p).leader).not.toBe(1)
    for (let p = 0; p < 3; p++) expect(partition(log.image, 't', p).isr).not.toContain(1)
    // Still asking to shut down, it stays fenced even though it is caught up.
    expect(controller.heartbeat(log.image, { brokerId: 1, brokerEpoch: epochs.get(1)!, caughtUpToMetadataOffset: log.image.offset, wantShutDown: true }, 200).records).toEqual([])
  })

  it('moves leadership back to the preferred replica once it is back in the ISR', () => {
    const { log, controller, heartbeat, partition, epochs } = threeBrokers()
    heartbeat(2, SESSION_MS)
    heartbeat(3, SESSION_MS)
    log.commit(controller.tick(log.image, SESSION_MS + 1))
    heartbeat(1, SESSION_MS + 2)
    expect(controller.electPreferredLeaders(log.image).records).toEqual([]) // 1 is not in the ISR yet
    const p0 = partition(log.image, 't', 0)
    log.commit(controller.alterPartition(log.image, { brokerId: 2, brokerEpoch: epochs.get(2)!, topic: 't', partition: 0, leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsr: [2, 3, 1] }))
    log.commit(controller.electPreferredLeaders(log.image))
    expect(partition(log.image, 't', 0)).toMatchObject({ leader: 1, leaderEpoch: 2, isr: [2, 3, 1] })
  })
})

describe('QuorumController: alterPartition', () => {
  function base() {
    const s = setup()
    s.join([1, 2, 3])
    s.log.commit(s.controller.createTopic(s.log.image, { name: 't', partitions: 1, replicationFactor: 3 }))
    const req = { brokerId: 1, brokerEpoch: s.epochs.get(1)!, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] as number[] }
    return { ...s, req }
  }

  it('shrinks the ISR, down to the leader alone, bumping only the partition epoch', () => {
    const { log, controller, req, partition } = base()
    const r = controller.alterPartition(log.image, req)
    expect(r.partition).toEqual({ leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2], partitionEpoch: 1 })
    log.commit(r)
    log.commit(controller.alterPartition(log.image, { ...req, partitionEpoch: 1, newIsr: [1] }))
    expect(partition(log.image, 't', 0)).toMatchObject({ isr: [1], partitionEpoch: 2, leaderEpoch: 0 })
  })

  it('answers an unchanged ISR with no record', () => {
    const { log, controller, req } = base()
    expect(controller.alterPartition(log.image, { ...req, newIsr: [3, 2, 1] }).records).toEqual([])
  })

  it('refuses stale or foreign requests with Kafka codes', () => {
    const { log, controller, req, epochs } = base()
    log.commit(controller.alterPartition(log.image, req))
    const alter = (over: Partial<typeof req>) => errorOf(() => controller.alterPartition(log.image, { ...req, partitionEpoch: 1, ...over })).errorName
    expect(alter({ partitionEpoch: 0 })).toBe('INVALID_UPDATE_VERSION')
    expect(alter({ leaderEpoch: -1 })).toBe('FENCED_LEADER_EPOCH')
    expect(alter({ leaderEpoch: 1 })).toBe('UNKNOWN_LEADER_EPOCH')
    expect(alter({ brokerId: 2, brokerEpoch: epochs.get(2)! })).toBe('NOT_LEADER_OR_FOLLOWER')
    expect(alter({ brokerEpoch: 999 })).toBe('STALE_BROKER_EPOCH')
    expect(alter({ partition: 1 })).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(alter({ newIsr: [2] })).toBe('INVALID_REQUEST')
    expect(alter({ newIsr: [1, 1] })).toBe('INVALID_REQUEST')
    expect(alter({ newIsr: [1, 4] })).toBe('INVALID_REQUEST')
  })

  it('refuses to add a fenced broker to the ISR (INELIGIBLE_REPLICA)', () => {
    const { log, controller, req, heartbeat } = base()
    log.commit(controller.alterPartition(log.image, { ...req, newIsr: [1] }))
    heartbeat(1, SESSION_MS)
    heartbeat(2, SESSION_MS)
    log.commit(controller.tick(log.image, SESSION_MS + 1)) // fences 3
    expect(errorOf(() => controller.alterPartition(log.image, { ...req, partitionEpoch: 1, newIsr: [1, 3] })).errorName).toBe('INELIGIBLE_REPLICA')
    log.commit(controller.alterPartition(log.image, { ...req, partitionEpoch: 1, newIsr: [1, 2] }))
  })
})

describe('QuorumController: producer ids', () => {
  it('hands out consecutive, disjoint blocks to the brokers that ask', () => {
    const { log, controller, join, epochs } = setup()
    join([1, 2])
    const a = controller.allocateProducerIds(log.image, 1, epochs.get(1)!)
    log.commit(a)
    const b = controller.allocateProducerIds(log.image, 2, epochs.get(2)!)
    log.commit(b)
    expect([a.firstProducerId, a.size, b.firstProducerId, b.size]).toEqual([0, 100, 100, 100])
    expect(log.image.nextProducerId).toBe(200)
  })
})
