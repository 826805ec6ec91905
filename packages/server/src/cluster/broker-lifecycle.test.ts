import { describe, expect, it } from 'vitest'
import { SamsaError } from '@samsa/shared'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { MetadataNode } from '../controller/metadata-node.js'
import { RaftDriver } from '../controller/raft-driver.js'
import { RaftLogStore } from '../controller/raft-log-store.js'
import { BrokerLifecycle } from './broker-lifecycle.js'
import { ControllerChannel, controllerRequests, type PeerRequester } from './controller-channel.js'

const TICK_MS = 100
const SESSION_MS = 1_200

/** One real voter (it elects itself and is the active controller) and the channel a broker on it uses. */
async function controllerNode() {
  const clock = new ManualClock()
  const store = await RaftLogStore.open(new MemoryLogStorage(), { dir: 'controller/raft', membership: { voters: [1], learners: [] } })
  const metadata = new MetadataNode({ nodeId: 1, clock, random: () => 0, controller: { sessionTimeoutMs: SESSION_MS }, pollMs: TICK_MS, preferredLeaderIntervalMs: 0 })
  const driver = new RaftDriver({ id: 1, store, clock, random: () => 0.5, tickMs: TICK_MS, transport: { send: () => {} }, apply: (e) => metadata.apply(e), restore: (s) => metadata.restore(s) })
  metadata.attach(driver)
  driver.start()
  const noPeers: PeerRequester = { request: () => Promise.reject(new Error('a single node has no peers')), close: () => {} }
  const channel = new ControllerChannel({ nodeId: 1, metadata, handlers: controllerRequests(metadata, 'c1'), peers: noPeers, clock })
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += TICK_MS) {
      clock.advance(TICK_MS)
      await driver.idle()
      for (let j = 0; j < 10; j++) await Promise.resolve()
    }
  }
  const lifecycle = (onFencedChange?: (fenced: boolean) => void) =>
    new BrokerLifecycle({ brokerId: 7, clusterId: 'c1', advertisedUrl: 'ws://b7:1', channel, clock, heartbeatIntervalMs: SESSION_MS / 3, metadataOffset: () => metadata.image.offset, ...(onFencedChange ? { onFencedChange } : {}) })
  return { metadata, driver, channel, run, lifecycle, stop: async () => (metadata.stop(), await driver.stop()) }
}

describe('BrokerLifecycle against a real controller', () => {
  it('registers fenced, is unfenced once caught up, stays unfenced while it heartbeats, and is fenced when it stops', async () => {
    const n = await controllerNode()
    const changes: { fenced: boolean; offsetAtChange: number; registeredAt: number | undefined }[] = []
    const a = n.lifecycle((fenced) => changes.push({ fenced, offsetAtChange: n.metadata.image.offset, registeredAt: n.metadata.image.brokers.get(7)?.brokerEpoch }))
    a.start()
    await n.run(2_000)
    expect(a.state()).toMatchObject({ brokerEpoch: 1, fenced: false })
    // Told once, when the controller unfenced it: its metadata image already holds its own registration.
    expect(changes).toEqual([{ fenced: false, offsetAtChange: expect.any(Number), registeredAt: 1 }])
    await n.run(5 * SESSION_MS)
    expect(n.metadata.image.brokers.get(7)).toMatchObject({ brokerEpoch: 1, fenced: false })
    a.stop()
    await n.run(3 * SESSION_MS)
    expect(n.metadata.image.brokers.get(7)!.fenced).toBe(true)

    // A new process of the same broker gets a new epoch; the old one's epoch is refused from then on.
    const b = n.lifecycle()
    b.start()
    await n.run(2_000)
    expect(b.state()).toMatchObject({ brokerEpoch: 2, fenced: false })
    await expect(n.channel.call('brokerHeartbeat', { brokerId: 7, brokerEpoch: 1, metadataOffset: n.metadata.image.offset, wantShutDown: false, incompleteReplicas: [] }, 0)).rejects.toMatchObject({ errorName: 'STALE_BROKER_EPOCH' })

    // Controlled shutdown fences at once, without waiting for the session.
    const shutdown = b.shutdown(1_000)
    await n.run(1_000)
    await shutdown
    expect(n.metadata.image.brokers.get(7)!.fenced).toBe(true)
    await n.stop()
  })
})

describe('BrokerLifecycle when the active controller stops answering (paused: its connection stays open)', () => {
  it('gives up the stuck heartbeat within the heartbeat interval and heartbeats the new controller within the session', async () => {
    const clock = new ManualClock()
    const interval = SESSION_MS / 3
    let leaderId = 2
    let paused = false
    const answered: { node: number; exchange: string; atMs: number }[] = []
    // Node 2 answers until it is paused, then never again; node 3 always answers.
    const peers: PeerRequester = {
      request: (nodeId, name) => {
        if (nodeId === 2 && paused) return new Promise(() => {})
        answered.push({ node: nodeId, exchange: name, atMs: clock.monotonicMs() })
        return Promise.resolve((name === 'brokerRegistration' ? { brokerEpoch: 5 } : { isFenced: false, shouldShutDown: false }) as never)
      },
      close: () => {},
    }
    const metadata = { state: () => ({ active: false, role: 'follower' as const, term: 1, leaderId, metadataOffset: 0, appliedIndex: 0 }) }
    const channel = new ControllerChannel({ nodeId: 1, metadata, handlers: {} as never, peers, clock })
    const lifecycle = new BrokerLifecycle({ brokerId: 1, clusterId: 'c1', advertisedUrl: 'ws://b1:1', channel, clock, heartbeatIntervalMs: interval, metadataOffset: () => 0 })
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10)
        for (let j = 0; j < 10; j++) await Promise.resolve()
      }
    }
    lifecycle.start()
    await run(2 * interval)
    expect(lifecycle.state()).toMatchObject({ brokerEpoch: 5, fenced: false })
    expect(answered.filter((a) => a.node === 2 && a.exchange === 'brokerHeartbeat').length).toBeGreaterThan(0)

    // Node 2 stops right after answering a heartbeat; node 3 becomes the controller (what Raft tells this node) soon after.
    paused = true
    const pausedAt = clock.monotonicMs()
    await run(interval + 50)
    leaderId = 3
    await run(SESSION_MS)
    const first = answered.find((a) => a.node === 3)
    expect(first, 'a heartbeat reached the new controller').toBeDefined()
    // Within the session timeout of the pause: the new controller does not fence this live broker.
    expect(first!.atMs - pausedAt).toBeLessThan(SESSION_MS)
    lifecycle.stop()
  })
})

describe('BrokerLifecycle: replicas recovered incomplete', () => {
  it('names them in every registration until one is accepted, and in none after', async () => {
    const clock = new ManualClock()
    const registrations: { incompleteReplicas: readonly { topic: string; partition: number }[] }[] = []
    let failRegistration = true
    let acceptedAt = -1
    let staleHeartbeat = false
    const peers: PeerRequester = {
      request: (_nodeId, name, req) => {
        if (name === 'brokerRegistration' && 'incompleteReplicas' in req) {
          registrations.push({ incompleteReplicas: req.incompleteReplicas })
          if (failRegistration) return Promise.reject(new Error('the controller lost its leadership'))
          if (acceptedAt < 0) acceptedAt = registrations.length - 1
          return Promise.resolve({ brokerEpoch: registrations.length } as never)
        }
        if (staleHeartbeat) return Promise.reject(new SamsaError('STALE_BROKER_EPOCH', 'replaced'))
        return Promise.resolve({ isFenced: false, shouldShutDown: false } as never)
      },
      close: () => {},
    }
    const metadata = { state: () => ({ active: false, role: 'follower' as const, term: 1, leaderId: 2, metadataOffset: 0, appliedIndex: 0 }) }
    const channel = new ControllerChannel({ nodeId: 1, metadata, handlers: {} as never, peers, clock })
    const incompleteReplicas = [{ topic: 'orders', partition: 3 }]
    const lifecycle = new BrokerLifecycle({ brokerId: 1, clusterId: 'c1', advertisedUrl: 'ws://b1:1', channel, clock, heartbeatIntervalMs: 400, metadataOffset: () => 0, incompleteReplicas })
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10)
        for (let j = 0; j < 10; j++) await Promise.resolve()
      }
    }
    lifecycle.start()
    await run(300)
    failRegistration = false
    await run(300)
    expect(lifecycle.state().brokerEpoch).toBeGreaterThan(0)
    staleHeartbeat = true // the controller replaced this registration: the process registers again
    await run(1_000)
    staleHeartbeat = false
    await run(300)
    expect(acceptedAt).toBeGreaterThan(0) // at least one failed attempt before the accepted one
    expect(registrations.length).toBeGreaterThan(acceptedAt + 1) // and a registration again after it
    expect(registrations.slice(0, acceptedAt + 1).every((r) => r.incompleteReplicas === incompleteReplicas)).toBe(true)
    expect(registrations.slice(acceptedAt + 1).every((r) => r.incompleteReplicas.length === 0)).toBe(true)
    lifecycle.stop()
  })

  it('names a replica found incomplete while running in a heartbeat sent at once, in every heartbeat until one is accepted, and in none after', async () => {
    const clock = new ManualClock()
    const heartbeats: { atMs: number; incompleteReplicas: readonly { topic: string; partition: number }[] }[] = []
    let failHeartbeats = false
    const peers: PeerRequester = {
      request: (_nodeId, name, req) => {
        if (name === 'brokerRegistration') return Promise.resolve({ brokerEpoch: 1 } as never)
        if (name === 'brokerHeartbeat' && 'incompleteReplicas' in req) heartbeats.push({ atMs: clock.monotonicMs(), incompleteReplicas: req.incompleteReplicas })
        if (failHeartbeats) return Promise.reject(new Error('the controller lost its leadership'))
        return Promise.resolve({ isFenced: false, shouldShutDown: false } as never)
      },
      close: () => {},
    }
    const metadata = { state: () => ({ active: false, role: 'follower' as const, term: 1, leaderId: 2, metadataOffset: 0, appliedIndex: 0 }) }
    const channel = new ControllerChannel({ nodeId: 1, metadata, handlers: {} as never, peers, clock })
    const lifecycle = new BrokerLifecycle({ brokerId: 1, clusterId: 'c1', advertisedUrl: 'ws://b1:1', channel, clock, heartbeatIntervalMs: 400, metadataOffset: () => 0 })
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10)
        for (let j = 0; j < 10; j++) await Promise.resolve()
      }
    }
    lifecycle.start()
    await run(1_000)
    expect(heartbeats.length).toBeGreaterThan(0)
    expect(heartbeats.every((h) => h.incompleteReplicas.length === 0)).toBe(true)

    failHeartbeats = true
    const reportedAt = clock.monotonicMs()
    lifecycle.reportIncomplete('orders', 3)
    lifecycle.reportIncomplete('orders', 3) // once is enough
    await run(300)
    const carrying = heartbeats.filter((h) => h.incompleteReplicas.length > 0)
    expect(carrying[0]!.atMs - reportedAt).toBeLessThanOrEqual(20) // not a heartbeat interval later
    expect(carrying.length).toBeGreaterThan(1) // retried while unanswered
    failHeartbeats = false
    await run(1_000)
    const accepted = heartbeats.findIndex((h, i) => i > 0 && h.incompleteReplicas.length > 0 && heartbeats[i + 1]?.incompleteReplicas.length === 0)
    expect(accepted).toBeGreaterThan(0)
    expect(heartbeats.slice(0, accepted + 1).filter((h) => h.atMs >= reportedAt).every((h) => h.incompleteReplicas.length === 1 && h.incompleteReplicas[0]!.partition === 3)).toBe(true)
    expect(heartbeats.slice(accepted + 1).every((h) => h.incompleteReplicas.length === 0)).toBe(true)
    lifecycle.stop()
  })
})
