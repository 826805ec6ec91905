/**
 * KIP-320 against a real broker: the SDK validates a stored position (offset, leader epoch of the record before it)
 * with offsetForLeaderEpoch before subscribing. A one-node cluster over real WebSockets and files, restarted once so
 * its partition log holds two leader epochs (offsets 0..4 in the first, 5..9 in the second). A stored position above
 * where its epoch ends on the leader is reported as a truncation gap and delivery continues at the epoch end; a
 * position that matches the leader's history resumes exactly, with no gap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { exchanges } from '@samsa/shared'
import { createClient, memoryStorage, type ClientStorage, type ConsumerRecord, type Gap, type SamsaClient } from '@samsa/client-browser'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { produceValues, value } from '../support/raw-log.js'
import { until } from '../support/until.js'

const T = 'kip320'

describe('the SDK validates stored positions by leader epoch (KIP-320) on a real broker', () => {
  let cluster: InProcessCluster
  let url: string
  /** The leader epochs of the two halves of the log. */
  let first: number
  let second: number
  const clients: SamsaClient[] = []

  const leaderAfter = (epoch: number, what: string) =>
    until(async () => {
      const p = await cluster.partitionOn(1, T).catch(() => undefined)
      return p && p.leader > 0 && p.leaderEpoch > epoch ? p : undefined
    }, { timeoutMs: 30_000, what })

  beforeAll(async () => {
    cluster = await InProcessCluster.start({ size: 1, dirPrefix: 'samsa-kip320' })
    url = cluster.nodes.get(1)!.url
    await until(async () => (await cluster.metadataOf(1, [])).brokers.length === 1, { timeoutMs: 30_000, what: 'the broker registered' })
    expect(await (await cluster.open(1)).request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 1 })).toMatchObject({ ok: true })
    first = (await leaderAfter(-1, `${T}/0 with a leader`)).leaderEpoch
    expect(await produceValues(await cluster.open(1), T, 0, Array.from({ length: 5 }, (_, i) => value('a', i)))).toBe(0)
    // A restart makes the partition leaderless, then led again at a newer leader epoch.
    await cluster.stopNode(1)
    await cluster.startNode(1)
    second = (await leaderAfter(first, `${T}/0 led again after the restart`)).leaderEpoch
    const b = await cluster.open(1)
    expect(await until(() => produceValues(b, T, 0, Array.from({ length: 5 }, (_, i) => value('b', 5 + i))).catch(() => undefined), { what: 'a produce at the new epoch' })).toBe(5)
  }, 90_000)

  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await cluster?.close()
  })

  async function resume(stored: { offset: number; leaderEpoch: number }, n: number): Promise<{ records: ConsumerRecord[]; gaps: Gap[]; storage: ClientStorage }> {
    const storage = memoryStorage()
    await storage.offsets.put('reader', T, 0, stored)
    const c = createClient({ brokers: url, clientId: 'kip320', WebSocket: WebSocket as never, storage, heartbeatIntervalMs: 0 })
    clients.push(c)
    const sub = c.consumer({ id: 'reader' }).subscribe(T, { from: 'stored' })
    const gaps: Gap[] = []
    sub.onGap((g) => gaps.push(g))
    const records: ConsumerRecord[] = []
    for await (const r of sub) {
      records.push(r)
      if (records.length === n) break
    }
    return { records, gaps, storage }
  }

  it('the log holds two leader epochs: 0..4 in the first, 5..9 in the second', () => {
    expect(second).toBeGreaterThan(first)
  })

  it('a stored position above the end of its epoch on the leader: a truncation gap, then delivery from the epoch end', async () => {
    // This consumer read offsets 0..7 from a history whose first epoch went on to offset 8; the broker's ends at 5.
    const { records, gaps } = await resume({ offset: 8, leaderEpoch: first }, 5)
    expect(gaps).toEqual([{ topic: T, partition: 0, from: 5, to: 8, reason: 'truncation' }])
    expect(records.map((r) => [r.offset, r.text(), r.leaderEpoch])).toEqual([5, 6, 7, 8, 9].map((o) => [o, value('b', o), second]))
  })

  it('a stored position that matches the leader’s history resumes exactly, with no gap', async () => {
    const atEpochEnd = await resume({ offset: 5, leaderEpoch: first }, 5)
    expect(atEpochEnd.gaps).toEqual([])
    expect(atEpochEnd.records.map((r) => r.offset)).toEqual([5, 6, 7, 8, 9])
    const within = await resume({ offset: 8, leaderEpoch: second }, 2)
    expect(within.gaps).toEqual([])
    expect(within.records.map((r) => [r.offset, r.text()])).toEqual([[8, value('b', 8)], [9, value('b', 9)]])
  })
})
