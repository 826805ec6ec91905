/**
 * The SDK follows partition leaders: bootstrap from any broker, each partition's requests to its leader, and on
 * NOT_LEADER_OR_FOLLOWER (or a lost leader) a metadata refresh and a resend / re-subscribe on the new leader,
 * without loss, duplicate or reordering. Several fronts (broker ids 1..n) over one real broker core
 * (test/support/leader-fronts.ts): the duplicate rule that makes resends safe is the broker's own.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ApiKeys } from '@samsa/shared'
import { createClient, memoryStorage, type RecordMetadata, type SamsaClient } from '@samsa/client-browser'
import { LeaderFronts } from '../support/leader-fronts.js'
import { until } from '../support/until.js'

let cluster: LeaderFronts | null = null
const clients: SamsaClient[] = []

function client(brokers: string | string[]): SamsaClient {
  const c = createClient({ brokers, clientId: 'leaders', WebSocket: WebSocket as never, storage: memoryStorage(), reconnectBackoff: { baseMs: 10, capMs: 100 }, heartbeatIntervalMs: 0 })
  clients.push(c)
  return c
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await cluster?.close()
  cluster = null
})

/** Every record of the partition, as text, read back from earliest to the current end. */
async function readAll(c: SamsaClient, topic: string, partition: number): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = []
  for await (const r of c.consumer().subscribe(topic, { from: 'earliest', until: 'end', partitions: [partition] })) out.push({ offset: r.offset, value: r.text() })
  return out
}

describe('clients follow partition leaders', () => {
  it('bootstraps from a broker that leads nothing and sends each partition to its leader', async () => {
    cluster = await LeaderFronts.start(3)
    const c = client(cluster.front(3).url)
    await c.admin.createTopic('orders', { partitions: 2 })
    cluster.moveLeader('orders', 0, 2)
    cluster.moveLeader('orders', 1, 1)
    const p = c.producer({ lingerMs: 0 })
    const metas = await p.send('orders', [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }, { value: 'c', partition: 0 }])
    expect(metas).toEqual([
      { topic: 'orders', partition: 0, offset: 0 },
      { topic: 'orders', partition: 1, offset: 0 },
      { topic: 'orders', partition: 0, offset: 1 },
    ])
    const produces = (id: number) => cluster!.front(id).requests.filter((r) => r.apiKey === ApiKeys.PRODUCE).map((r) => r.partition)
    expect(new Set(produces(2))).toEqual(new Set([0]))
    expect(new Set(produces(1))).toEqual(new Set([1]))
    expect(produces(3)).toEqual([])
    expect((await readAll(c, 'orders', 0)).map((r) => r.value)).toEqual(['a', 'c'])
  })

  it('a leader that moves mid-produce: every record is acknowledged exactly once, in order', async () => {
    cluster = await LeaderFronts.start(3)
    const c = client([cluster.front(1).url, cluster.front(2).url])
    await c.admin.createTopic('moves', { partitions: 1 })
    const p = c.producer({ lingerMs: 0, maxInFlight: 5 })
    // Leader 1 takes 3 batches, then the leader moves to 2; leader 2 appends its 2nd batch but its response is lost
    // and the leader moves to 3: batches in flight at each move are resent to the new leader.
    let produces1 = 0
    cluster.front(1).onRequest = (r, phase) => {
      if (r.apiKey === ApiKeys.PRODUCE && phase === 'after' && ++produces1 === 3) cluster!.moveLeader('moves', 0, 2)
    }
    let produces2 = 0
    cluster.front(2).onRequest = (r, phase) => {
      if (r.apiKey !== ApiKeys.PRODUCE) return
      if (phase === 'before' && produces2 === 1) cluster!.front(2).loseNextProduceResponse = 1
      if (phase === 'after' && ++produces2 === 2) cluster!.moveLeader('moves', 0, 3)
    }
    const sends: Promise<RecordMetadata[]>[] = []
    const N = 120
    for (let i = 0; i < N; i += 3) {
      sends.push(p.send('moves', [0, 1, 2].map((k) => ({ value: `r${i + k}`, partition: 0 }))))
      await new Promise((resolve) => setImmediate(resolve)) // a batch per send
    }
    const metas = (await Promise.all(sends)).flat()
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: N }, (_, i) => i))
    const log = await readAll(c, 'moves', 0)
    expect(log.map((r) => r.value)).toEqual(Array.from({ length: N }, (_, i) => `r${i}`))
    // The moves happened with batches in flight: some were bounced, one response was lost, the rest went to leader 3.
    expect(cluster.front(1).notLeaderAnswers + cluster.front(2).notLeaderAnswers).toBeGreaterThan(0)
    expect(cluster.front(2).loseNextProduceResponse).toBe(0)
    expect(cluster.front(3).requests.some((r) => r.apiKey === ApiKeys.PRODUCE)).toBe(true)
  })

  it('a subscription whose leader moves continues at its next offset: no gap, no duplicate', async () => {
    cluster = await LeaderFronts.start(3)
    const c = client(cluster.front(1).url)
    await c.admin.createTopic('feed', { partitions: 1 })
    const p = c.producer({ lingerMs: 0 })
    await p.send('feed', Array.from({ length: 30 }, (_, i) => ({ value: `v${i}`, partition: 0 })))
    const sub = c.consumer().subscribe('feed', { from: 'earliest', creditWindowBytes: 1024 })
    const seen: number[] = []
    const done = (async () => {
      for await (const r of sub) {
        seen.push(r.offset)
        if (seen.length === 60) break
      }
    })()
    await until(() => seen.length >= 10, { what: 'the first records' })
    cluster.moveLeader('feed', 0, 3)
    await p.send('feed', Array.from({ length: 30 }, (_, i) => ({ value: `v${30 + i}`, partition: 0 })))
    await done
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i))
    expect(cluster.front(3).requests.some((r) => r.apiKey === ApiKeys.SUBSCRIBE)).toBe(true)
  })

  it('a leader that dies: the subscription and the producer move to the new leader', async () => {
    cluster = await LeaderFronts.start(2)
    const c = client(cluster.front(2).url)
    await c.admin.createTopic('crash', { partitions: 1 })
    const p = c.producer({ lingerMs: 0 })
    await p.send('crash', [{ value: 'x0', partition: 0 }])
    const seen: string[] = []
    const sub = c.consumer().subscribe('crash', { from: 'earliest' })
    sub.onRecord((r) => void seen.push(r.text()))
    await until(() => seen.length === 1, { what: 'x0' })
    cluster.front(1).kill()
    cluster.moveLeader('crash', 0, 2)
    expect(await p.send('crash', [{ value: 'x1', partition: 0 }])).toEqual([{ topic: 'crash', partition: 0, offset: 1 }])
    await until(() => seen.length === 2, { what: 'x1 on the new leader' })
    expect(seen).toEqual(['x0', 'x1'])
  })

  it('UNKNOWN_TOPIC_OR_PARTITION while the topic propagates is retried, then the send succeeds', async () => {
    cluster = await LeaderFronts.start(2)
    const c = client(cluster.front(1).url)
    await c.connect()
    const sent = c.producer({ lingerMs: 0 }).send('late', [{ value: 'hello' }])
    await until(() => cluster!.front(1).requests.filter((r) => r.apiKey === ApiKeys.METADATA).length >= 2, { what: 'a retried metadata lookup' })
    await client(cluster.front(2).url).admin.createTopic('late', { partitions: 1 })
    expect(await sent).toEqual([{ topic: 'late', partition: 0, offset: 0 }])
  })

  it('a topic that never appears fails with UNKNOWN_TOPIC_OR_PARTITION after the bounded retry', async () => {
    cluster = await LeaderFronts.start(2)
    const c = client(cluster.front(1).url)
    await expect(c.producer({ lingerMs: 0 }).send('never', [{ value: 'x' }])).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
  })

  it('metadata at an older leader epoch (a restarted node) does not replace the newer leader already known', async () => {
    cluster = await LeaderFronts.start(2)
    const c = client(cluster.front(1).url) // front 1 answers metadata
    await c.admin.createTopic('epochs', { partitions: 1 })
    cluster.moveLeader('epochs', 0, 2) // epoch 1
    const p = c.producer({ lingerMs: 0 })
    expect(await p.send('epochs', [{ value: 'a', partition: 0 }])).toEqual([{ topic: 'epochs', partition: 0, offset: 0 }])
    // Front 1 restarts on old metadata: it names itself leader at epoch 0. The next response of leader 2 is lost, so
    // the client asks metadata again (from front 1) and must keep leader 2 at epoch 1.
    cluster.front(1).believeLeader('epochs', 0, { brokerId: 1, leaderEpoch: 0 })
    cluster.front(2).loseNextProduceResponse = 1
    expect(await p.send('epochs', [{ value: 'b', partition: 0 }])).toEqual([{ topic: 'epochs', partition: 0, offset: 1 }])
    expect(cluster.front(1).requests.filter((r) => r.apiKey === ApiKeys.PRODUCE)).toEqual([])
    expect(cluster.front(2).loseNextProduceResponse).toBe(0)
    cluster.front(1).believeLeader('epochs', 0, null)
    expect((await readAll(c, 'epochs', 0)).map((r) => r.value)).toEqual(['a', 'b'])
  })

  it('OUT_OF_ORDER_SEQUENCE_NUMBER from a leader that is no longer current: resent to the current leader, acknowledged once', async () => {
    cluster = await LeaderFronts.start(3)
    const c = client(cluster.front(3).url) // front 3 leads nothing and answers metadata truthfully
    await c.admin.createTopic('stale', { partitions: 1 })
    const p = c.producer({ lingerMs: 0 })
    expect(await p.send('stale', [{ value: 'a', partition: 0 }])).toEqual([{ topic: 'stale', partition: 0, offset: 0 }])
    // Leadership moves to 2 while the client still routes to 1, which keeps believing it leads (epoch 0).
    cluster.front(1).believeLeader('stale', 0, { brokerId: 1, leaderEpoch: 0 })
    cluster.moveLeader('stale', 0, 2)
    expect(await p.send('stale', [{ value: 'b', partition: 0 }])).toEqual([{ topic: 'stale', partition: 0, offset: 1 }])
    expect(cluster.front(1).staleProduceAnswers).toBe(1)
    expect(cluster.front(2).requests.filter((r) => r.apiKey === ApiKeys.PRODUCE)).toHaveLength(1)
    expect((await readAll(c, 'stale', 0)).map((r) => r.value)).toEqual(['a', 'b'])
  })

  it('OUT_OF_ORDER_SEQUENCE_NUMBER from the leader metadata still names is fatal for the batch', async () => {
    cluster = await LeaderFronts.start(2)
    const c = client(cluster.front(2).url)
    await c.admin.createTopic('fatal', { partitions: 1 })
    const p = c.producer({ lingerMs: 0 })
    await p.send('fatal', [{ value: 'a', partition: 0 }])
    // Leader 2 at epoch 1 per the cluster, but front 2 (which answers metadata) still names 1 at epoch 0: the refresh
    // finds the same leader the batch went to, so its OUT_OF_ORDER_SEQUENCE_NUMBER stands.
    cluster.front(1).believeLeader('fatal', 0, { brokerId: 1, leaderEpoch: 0 })
    cluster.front(2).believeLeader('fatal', 0, { brokerId: 1, leaderEpoch: 0 })
    cluster.moveLeader('fatal', 0, 2)
    await expect(p.send('fatal', [{ value: 'b', partition: 0 }])).rejects.toMatchObject({ errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(cluster.front(1).staleProduceAnswers).toBeGreaterThanOrEqual(1)
  })
})
