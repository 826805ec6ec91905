/**
 * A broker-only node joins a running three-voter cluster (in process, real WebSockets and files): it is no Raft
 * voter but observes the metadata log from the controllers. It catches up from the image when the log it lacks is
 * compacted away, registers, is unfenced, hosts replicas of a new topic (leading one partition, following the
 * others), serves produce and consume as leader, follows a controller failover, and is fenced once stopped.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { InProcessCluster, silentLogger } from '../support/in-process-cluster.js'
import { drainPartition, produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

interface ClusterView {
  nodeId: number
  role: string
  term: number
  leaderId: number | null
  controllerActive: boolean
  metadataOffset: number
  fenced: boolean
  nodes: { id: number; role: string; fenced: boolean; registered: boolean }[]
}

const SESSION_TIMEOUT_MS = 1_500
const BROKER_ONLY = 4

describe('a broker-only node', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  const view = async (id: number) => (await (await fetch(`${cluster.nodes.get(id)!.httpUrl}/v1/cluster`)).json()) as ClusterView
  const activeController = async () => {
    for (const id of cluster.nodes.keys()) {
      const v = await view(id).catch(() => null)
      if (v?.controllerActive) return id
    }
    return undefined
  }

  it('joins a running cluster from a compacted log, hosts replicas, leads and follows, survives a controller failover, and is fenced when stopped', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-broker-only', sessionTimeoutMs: SESSION_TIMEOUT_MS, snapshotEveryEntries: 3, replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 } })
    await until(async () => {
      const v = await view(1)
      return v.nodes.length === 3 && v.nodes.every((n) => n.registered && !n.fenced) && (await activeController()) !== undefined
    }, { timeoutMs: 30_000, what: 'three unfenced voters and an active controller' })
    const c1 = await cluster.open(1)
    for (const name of ['before-a', 'before-b', 'before-c']) expect((await c1.request(exchanges.createTopic, { name, partitions: 2, replicationFactor: 3 })).ok).toBe(true)

    // Node 4 is not among the controllers: it starts as a broker-only node and catches up from the image.
    const lines: string[] = []
    const logger = { ...silentLogger, info: (_o: object, msg: string) => void lines.push(msg), child: () => logger }
    const four = await cluster.addBrokerOnlyNode(BROKER_ONLY, logger)
    expect(four.controller).toBeNull()
    expect(lines).toContain(`broker-only node ${BROKER_ONLY}; controllers 1,2,3`)
    await until(async () => {
      const v = await view(BROKER_ONLY)
      return !v.fenced && v.nodes.find((n) => n.id === BROKER_ONLY)?.fenced === false
    }, { timeoutMs: 20_000, what: 'the broker-only node registered and unfenced' })
    expect(lines).toContain('metadata observer: caught up from the image (snapshot)')
    const fourView = await view(BROKER_ONLY)
    expect(fourView.role).toBe('broker')
    expect(fourView.nodes.find((n) => n.id === BROKER_ONLY)!.role).toBe('broker')
    expect((await cluster.metadataOf(BROKER_ONLY, ['before-a'])).topics[0]!.partitions).toHaveLength(2)
    const leaderView = await view((await activeController())!)
    expect(leaderView.nodes.find((n) => n.id === BROKER_ONLY)).toMatchObject({ role: 'broker', registered: true, fenced: false })

    // A topic created through node 4 (forwarded to the active controller) places replicas on all four brokers:
    // with four partitions over four brokers, node 4 leads one and follows three.
    const c4 = await cluster.open(BROKER_ONLY)
    expect(await c4.request(exchanges.createTopic, { name: 'wide', partitions: 4, replicationFactor: 4, minInsyncReplicas: 2 })).toEqual({ ok: true, value: { name: 'wide', partitions: 4 } })
    const parts = await until(async () => {
      const t = (await cluster.metadataOf(BROKER_ONLY, ['wide'])).topics[0]
      return t?.errorCode === 0 && t.partitions.every((p) => p.leader > 0 && p.isr?.length === 4) ? t.partitions : undefined
    }, { timeoutMs: 20_000, what: 'wide with every replica in the ISR' })
    expect(parts.filter((p) => p.leader === BROKER_ONLY)).toHaveLength(1)
    const led = parts.find((p) => p.leader === BROKER_ONLY)!.partition
    const followed = parts.find((p) => p.leader !== BROKER_ONLY)!

    // As leader: acks=all produce and consume on node 4.
    const written = Array.from({ length: 20 }, (_, i) => value('led', i))
    expect(await produceValues(c4, 'wide', led, written)).toBe(0)
    expect((await drainPartition(c4, 'wide', led)).map((r) => r.value)).toEqual(written)
    // As follower: a partition led elsewhere reaches node 4's replica.
    const lc = await cluster.open(followed.leader)
    const more = Array.from({ length: 20 }, (_, i) => value('followed', i))
    expect(await produceValues(lc, 'wide', followed.partition, more)).toBe(0)
    const local = () => [...four.broker.partitionOffsets()].find((p) => p.topic === 'wide' && p.partition === followed.partition)
    await until(() => local()?.logEndOffset === 20, { timeoutMs: 10_000, what: 'node 4 following the partition' })

    // The active controller stops: node 4 learns the new one and goes on (its heartbeats, a topic create, produce).
    const oldController = (await activeController())!
    await cluster.stopNode(oldController)
    const newController = await until(async () => {
      const v = await view(BROKER_ONLY)
      return v.leaderId !== null && v.leaderId !== oldController ? v.leaderId : undefined
    }, { timeoutMs: 20_000, what: 'node 4 following the new controller leader' })
    expect(cluster.nodes.has(newController)).toBe(true)
    const created = await until(async () => {
      const r = await c4.request(exchanges.createTopic, { name: 'after-failover', partitions: 1, replicationFactor: 3 })
      return r.ok ? r.value : undefined
    }, { timeoutMs: 20_000, what: 'a topic created through node 4 after the failover' })
    expect(created).toEqual({ name: 'after-failover', partitions: 1 })
    const afterLeader = await until(async () => {
      const p = await cluster.partitionOn(BROKER_ONLY, 'wide', led)
      return p && p.leader === BROKER_ONLY ? p : undefined
    }, { timeoutMs: 10_000, what: 'node 4 still leading its partition' })
    expect(afterLeader.leader).toBe(BROKER_ONLY)
    const later = Array.from({ length: 5 }, (_, i) => value('later', i))
    expect(await until(async () => produceValues(c4, 'wide', led, later).catch(() => undefined), { timeoutMs: 20_000, what: 'an acks=all produce to node 4 after the failover' })).toBe(20)
    expect((await view(BROKER_ONLY)).fenced).toBe(false)

    // Stopped without a controlled shutdown, node 4 is fenced after its session and loses its leadership.
    await cluster.stopNode(BROKER_ONLY)
    await until(async () => {
      const v = await view(newController)
      return v.nodes.find((n) => n.id === BROKER_ONLY)?.fenced === true
    }, { timeoutMs: 20_000, what: 'node 4 fenced after its session' })
    const moved = await until(async () => {
      const p = await cluster.partitionOn(newController, 'wide', led)
      return p && p.leader > 0 && p.leader !== BROKER_ONLY ? p : undefined
    }, { timeoutMs: 20_000, what: `a new leader of wide/${led}` })
    const mc = await cluster.open(moved.leader)
    // The new leader may start at the high watermark it had as a follower (below what node 4 acknowledged last): it
    // reaches the acknowledged records once its ISR fetches again.
    const read = await until(async () => {
      const values = (await drainPartition(mc, 'wide', led)).map((r) => r.value)
      return values.length >= written.length + later.length ? values : undefined
    }, { timeoutMs: 10_000, what: `the new leader of wide/${led} serving every acknowledged record` })
    expect(read).toEqual([...written, ...later])
  }, 120_000)
})
