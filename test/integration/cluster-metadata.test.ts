/**
 * Three in-process combined-mode nodes over real WebSockets and real files: brokers register with the active
 * controller and are unfenced; a topic created through any node reaches every node's metadata with its replicas in
 * the ISR; a broker that stops without a controlled shutdown is fenced after its session timeout and the partitions it
 * led get a new leader from the ISR at a higher leader epoch.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { runCli } from '../support/child-broker.js'
import { freePorts } from '../support/free-ports.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { produceValues } from '../support/raw-log.js'
import { until } from '../support/until.js'

interface ClusterView {
  nodeId: number
  role: string
  term: number
  leaderId: number | null
  controllerActive: boolean
  metadataOffset: number
  fenced: boolean
  nodes: { id: number; url: string; role: string; fenced: boolean; registered: boolean; brokerEpoch: number }[]
}

const SESSION_TIMEOUT_MS = 1_500

describe('the metadata log on a three-node cluster', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  const view = async (id: number) => (await (await fetch(`${cluster.nodes.get(id)!.httpUrl}/v1/cluster`)).json()) as ClusterView
  const metadataOf = (id: number, topics: string[] | null) => cluster.metadataOf(id, topics)

  it('registers and unfences every broker, replicates topic metadata everywhere, and fences a stopped broker after its session', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-cluster', sessionTimeoutMs: SESSION_TIMEOUT_MS })
    const { nodes, controllers } = cluster

    // Every node sees all three brokers registered and unfenced, and one active controller.
    await until(async () => {
      const views = await Promise.all([...nodes.keys()].map(view))
      const actives = views.filter((v) => v.controllerActive)
      return actives.length === 1 && views.every((v) => v.nodes.length === 3 && v.nodes.every((n) => n.registered && !n.fenced) && !v.fenced)
    }, { timeoutMs: 30_000, what: 'three registered, unfenced brokers and one active controller' })
    const before = await view(1)
    expect(before.nodes.map((n) => n.url).sort()).toEqual(controllers.map((c) => c.url).sort())
    expect(before.nodes.filter((n) => n.role === 'controller leader')).toHaveLength(1)
    const metricsText = await (await fetch(`${nodes.get(1)!.httpUrl}/metrics`)).text()
    expect(metricsText).toMatch(/^samsa_broker_fenced 0$/m)
    expect(metricsText).toMatch(/^samsa_cluster_brokers\{state="unfenced"\} 3$/m)
    expect(metricsText).toMatch(/^samsa_metadata_offset [1-9]\d*$/m)
    expect(metricsText).toMatch(/^samsa_under_replicated_partitions 0$/m)

    // `samsa cluster status` prints the same, from any node of a --broker list (the first one here is down).
    const dead = `ws://127.0.0.1:${(await freePorts(1))[0]}`
    const json = await runCli(['cluster', 'status', '--json', '--broker', `${dead},${controllers[1]!.url}`])
    expect(json.code, json.stderr).toBe(0)
    const printed = JSON.parse(json.stdout) as ClusterView
    expect(printed.nodes.map((n) => [n.id, n.url, n.fenced])).toEqual(controllers.map((c) => [c.id, c.url, false]))
    expect(printed.leaderId).toBe(before.leaderId)
    const text = await runCli(['cluster', 'status', '--broker', controllers[0]!.url])
    expect(text.stdout).toMatch(new RegExp(`^controller leader: ${before.leaderId}  term: \\d+  metadata offset: \\d+`))
    for (const c of controllers) expect(text.stdout).toContain(`${c.id}\t${c.url}\t`)

    // A create through a node that is not the active controller is forwarded to it.
    const follower = [...nodes.keys()].find((id) => id !== before.leaderId)!
    const c = await cluster.open(follower)
    const created = await c.request(exchanges.createTopic, { name: 'orders', partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 })
    expect(created).toEqual({ ok: true, value: { name: 'orders', partitions: 3 } })
    const again = await c.request(exchanges.createTopic, { name: 'orders', partitions: 3, replicationFactor: 3 })
    expect(again.ok ? null : again.error.errorName).toBe('TOPIC_ALREADY_EXISTS')

    await until(async () => {
      for (const id of nodes.keys()) {
        const m = await metadataOf(id, ['orders'])
        const t = m.topics[0]!
        if (m.brokers.length !== 3 || t.errorCode !== 0 || t.partitions.length !== 3) return false
        if (!t.partitions.every((p) => p.replicas?.length === 3 && p.isr?.length === 3 && p.isr.includes(p.leader))) return false
      }
      return true
    }, { timeoutMs: 20_000, what: 'orders with 3 replicas in the ISR in every node\'s metadata' })
    const m = await metadataOf(1, ['orders'])
    expect(m.brokers.map((b) => b.url).sort()).toEqual(controllers.map((c) => c.url).sort())
    const described = await runCli(['topics', 'describe', 'orders', '--broker', controllers[2]!.url])
    expect(described.code, described.stderr).toBe(0)
    const rows = described.stdout.trim().split('\n').slice(2).map((l) => l.split('\t'))
    expect(rows.map((r) => [r[6]!.split(',').length, r[7]!.split(',').length])).toEqual([[3, 3], [3, 3], [3, 3]])

    // A partition's leader accepts a produce; the other brokers point at it.
    const p0 = m.topics[0]!.partitions[0]!
    const notLeader = [...nodes.keys()].find((id) => id !== p0.leader)!
    const nc = await cluster.open(notLeader)
    const refused = await nc.request(exchanges.listOffsets, { topic: 'orders', partition: 0, timestamp: -1 })
    expect(refused.ok ? null : { name: refused.error.errorName, leaderId: refused.error.details.leaderId }).toEqual({ name: 'NOT_LEADER_OR_FOLLOWER', leaderId: p0.leader })
    const lc = await cluster.open(p0.leader)
    expect(await produceValues(lc, 'orders', 0, ['a', 'b'])).toBe(0)
    const offsets = await lc.request(exchanges.listOffsets, { topic: 'orders', partition: 0, timestamp: -1 })
    expect(offsets).toMatchObject({ ok: true, value: { offset: 2, leaderEpoch: p0.leaderEpoch } })
    // Producer ids come from the metadata log: two brokers never hand out the same one.
    const pids = await Promise.all([lc, nc].map(async (conn) => {
      const r = await conn.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
      if (!r.ok) throw r.error
      return r.value.producerId
    }))
    expect(new Set(pids).size).toBe(2)

    // Stop one broker that leads at least one partition, without a controlled shutdown: its session must expire.
    const victim = p0.leader
    const led = m.topics[0]!.partitions.filter((p) => p.leader === victim)
    await cluster.stopNode(victim)
    const survivor = [...nodes.keys()][0]!
    await until(async () => {
      const v = await view(survivor)
      return v.nodes.find((n) => n.id === victim)?.fenced === true
    }, { timeoutMs: 30_000, what: `broker ${victim} fenced after its session timeout` })
    await until(async () => {
      for (const id of nodes.keys()) {
        const after = (await metadataOf(id, ['orders'])).topics[0]!
        for (const was of led) {
          const now = after.partitions[was.partition]!
          if (now.leader === victim || now.leader < 0 || !was.isr!.includes(now.leader) || now.leaderEpoch <= was.leaderEpoch) return false
          if (now.isr!.includes(victim)) return false
        }
      }
      return true
    }, { timeoutMs: 20_000, what: `the partitions broker ${victim} led moved to ISR members at a higher leader epoch` })
    // Its new leader reports the partition under-replicated (ISR 2 of 3) on /metrics, with the controller's term.
    const moved = (await metadataOf(survivor, ['orders'])).topics[0]!.partitions[led[0]!.partition]!
    const leaderMetrics = await (await fetch(`${nodes.get(moved.leader)!.httpUrl}/metrics`)).text()
    expect(leaderMetrics).toMatch(new RegExp(`^samsa_partition_isr_size\\{topic="orders",partition="${moved.partition}"\\} 2$`, 'm'))
    expect(leaderMetrics).toMatch(/^samsa_under_replicated_partitions [1-3]$/m)
    expect(leaderMetrics).toMatch(/^samsa_leader_elections_total [1-9]\d*$/m)
    expect(leaderMetrics).toMatch(/^samsa_controller_term [1-9]\d*$/m)
    const final = await metadataOf(survivor, null)
    expect(final.brokers.map((b) => b.brokerId).sort()).toEqual([...nodes.keys()].sort())
    const oldEpoch = (await view(survivor)).nodes.find((n) => n.id === victim)!

    // The stopped broker starts again on its data directory: it registers with a new broker epoch and is unfenced.
    await cluster.startNode(victim)
    await until(async () => {
      const v = await view(survivor)
      const n = v.nodes.find((x) => x.id === victim)!
      return !n.fenced && n.brokerEpoch > oldEpoch.brokerEpoch
    }, { timeoutMs: 20_000, what: `broker ${victim} registered again and unfenced` })
    await until(async () => (await metadataOf(survivor, null)).brokers.length === 3, { timeoutMs: 10_000, what: 'three live brokers in metadata again' })

    // A delete through any node is a controller proposal too; every node drops the topic and its local logs.
    const dc = await cluster.open(survivor)
    expect(await dc.request(exchanges.deleteTopic, { name: 'orders' })).toEqual({ ok: true, value: {} })
    await until(async () => {
      for (const [id, n] of nodes) {
        if ((await metadataOf(id, ['orders'])).topics[0]!.errorCode !== 3) return false
        if ([...n.broker.partitionOffsets()].some((p) => p.topic === 'orders')) return false
      }
      return true
    }, { timeoutMs: 20_000, what: 'orders gone from every survivor' })
  }, 120_000)
})

