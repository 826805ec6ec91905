/**
 * A restarted former leader never acts on its stale metadata: three in-process combined-mode nodes over real
 * WebSockets and files; the leader of an RF-3 partition stops without a controlled shutdown, another replica takes
 * over at a higher leader epoch, and the old leader starts again on its data directory (whose replayed metadata log
 * still names it leader at the old epoch). Until it has caught up with the metadata log (unfenced) it must answer
 * produce with NOT_LEADER_OR_FOLLOWER and must never become leader at an epoch below the current one.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges } from '@samsa/shared'
import { recordingLogger, type LogLine } from '../support/broker-fixture.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const T = 'stale-leader'

describe('a restarted former leader', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  it('answers NOT_LEADER_OR_FOLLOWER until caught up and never becomes leader at a stale leader epoch', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-stale-leader', replication: { replicaLagTimeMaxMs: 3_000, isrCheckIntervalMs: 250 } })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const c = await cluster.open(1)
    expect(await c.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).toEqual({ ok: true, value: { name: T, partitions: 1 } })
    const first = await until(async () => {
      const p = await cluster.partitionOn(1, T)
      return p && p.leader > 0 && p.isr?.length === 3 ? p : undefined
    }, { timeoutMs: 20_000, what: `${T}/0 with a leader and three replicas in the ISR` })
    const leader = first.leader
    expect(await produceValues(await cluster.open(leader), T, 0, [value('r', 0)])).toBe(0)

    await cluster.stopNode(leader)
    const survivor = [...cluster.nodes.keys()][0]!
    const next = await until(async () => {
      const p = await cluster.partitionOn(survivor, T)
      return p && p.leader > 0 && p.leader !== leader && p.leaderEpoch > first.leaderEpoch && p.isr?.length === 2 ? p : undefined
    }, { timeoutMs: 30_000, what: `a new leader of ${T}/0 after broker ${leader} stopped` })

    // The old leader starts again; its replayed metadata log still names it leader at first.leaderEpoch.
    const lines: LogLine[] = []
    await cluster.startNode(leader, recordingLogger(lines))
    const oc = await cluster.open(leader)
    const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode('stale'), headers: [], timestamp: 1_700_000_000_000 }] })
    const r = await oc.request(exchanges.produce, { topic: T, partition: 0, acks: 1, timeoutMs: 5_000, batch })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.errorName).toBe('NOT_LEADER_OR_FOLLOWER')

    // Once caught up it follows the current leader.
    await until(() => cluster.nodes.get(leader)!.replicas?.role(T, 0)?.kind === 'follower' ? true : undefined, { timeoutMs: 30_000, what: `broker ${leader} following ${T}/0` })
    const becameLeader = lines.filter((l) => l.msg === 'became leader' && l.fields.topic === T)
    expect(becameLeader.map((l) => l.fields.leaderEpoch)).toEqual([])
    const followed = lines.filter((l) => l.msg === 'became follower' && l.fields.topic === T)
    expect(followed.every((l) => (l.fields.leaderEpoch as number) >= next.leaderEpoch)).toBe(true)
  }, 120_000)
})
