/**
 * Durable Streams on a three-node cluster: whichever node a request reaches, the stream's partition leader answers
 * (proxied) and the stream catalog is the same on every node. Create on one node, append through another, read
 * (catch-up and long-poll) through the third; after the leader stops, the stream still serves, with no record
 * lost or duplicated and its content type and closure known to the new leader. A fork created through a node that
 * leads neither it nor its source copies the source's records at the same offsets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges } from '../../packages/shared/src/index.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { until } from '../support/until.js'

let cluster: InProcessCluster
const url = (node: number, path: string) => `${cluster.nodes.get(node)!.httpUrl}/v1/stream/${path}`
const TEXT = { 'content-type': 'text/plain' }

/** An append through `node`, retried (bounded) while the cluster has no leader for the stream (503). */
async function append(node: number, body: string, headers: Record<string, string> = {}) {
  return until(async () => {
    const r = await fetch(url(node, 'notes'), { method: 'POST', headers: { ...TEXT, ...headers }, body })
    return r.status === 503 ? null : r
  }, { timeoutMs: 20_000, what: `an append through node ${node}` })
}

/** The status, or a failure naming the answer's headers and body. */
async function expectStatus(pending: Promise<Response>, status: number) {
  const r = await pending
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: producer-expected-seq=${r.headers.get("producer-expected-seq")} stream-closed=${r.headers.get("stream-closed")} ${await r.text()}`)
}

async function readAll(node: number) {
  const r = await fetch(url(node, 'notes?offset=-1'))
  expect(r.status).toBe(200)
  expect(r.headers.get('content-type')).toContain('text/plain')
  return { text: await r.text(), next: r.headers.get('stream-next-offset')!, closed: r.headers.get('stream-closed') }
}

beforeAll(async () => {
  cluster = await InProcessCluster.start({ dirPrefix: 'samsa-ds-cluster' })
  await until(async () => (await cluster.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

describe('Durable Streams in a cluster', () => {
  it('a fork whose source is led by another node holds the source\'s records at the same offsets', async () => {
    const created = await fetch(url(1, 'src'), { method: 'PUT', headers: TEXT, body: 'r0' })
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`)
    const offsets = [created.headers.get('stream-next-offset')!]
    for (const body of ['r1', 'r2']) {
      const r = await fetch(url(2, 'src'), { method: 'POST', headers: TEXT, body })
      expect(r.status).toBe(204)
      offsets.push(r.headers.get('stream-next-offset')!)
    }
    const sourceLeader = (await cluster.partitionOn(1, 'src'))!.leader
    const others = [1, 2, 3].filter((n) => n !== sourceLeader)
    // Forks created through the nodes that do not lead the source, until one is led by another node than the source.
    const leaders: number[] = []
    for (let i = 0; i < 6 && !leaders.some((l) => l !== sourceLeader); i++) {
      const name = `fork-${i}`
      const forked = await fetch(url(others[i % 2]!, name), { method: 'PUT', headers: { ...TEXT, 'stream-forked-from': '/v1/stream/src', 'stream-fork-offset': offsets[1]! } })
      if (forked.status !== 201) throw new Error(`fork through node ${others[i % 2]}: ${forked.status} ${await forked.text()}`)
      expect(forked.headers.get('stream-next-offset')).toBe(offsets[1])
      leaders.push((await cluster.partitionOn(1, name))!.leader)
      for (const n of [1, 2, 3]) {
        const all = await fetch(url(n, `${name}?offset=-1`))
        expect(await all.text()).toBe('r0r1')
        // The record at the source's second offset is the fork's at the same offset.
        const second = await fetch(url(n, `${name}?offset=${offsets[0]}`))
        expect(await second.text()).toBe('r1')
        expect(second.headers.get('stream-next-offset')).toBe(offsets[1])
      }
      const appended = await fetch(url(sourceLeader, name), { method: 'POST', headers: TEXT, body: 'f2' })
      expect(appended.status).toBe(204)
      expect(await (await fetch(url(sourceLeader, `${name}?offset=-1`))).text()).toBe('r0r1f2')
    }
    expect(leaders.some((l) => l !== sourceLeader)).toBe(true)
    expect(await (await fetch(url(1, 'src?offset=-1'))).text()).toBe('r0r1r2')
  }, 60_000)

  it('create on A, append through B, read and long-poll through C; the stream survives its leader stopping', async () => {
    const created = await fetch(url(1, 'notes'), { method: 'PUT', headers: TEXT, body: 'a' })
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`)
    await expectStatus(append(2, 'b'), 204)
    const first = await readAll(3)
    expect(first.text).toBe('ab')

    // A long poll through C, woken by an append through A.
    const poll = fetch(url(3, `notes?offset=${first.next}&live=long-poll`))
    await expectStatus(append(1, 'c'), 204)
    const polled = await poll
    expect(polled.status).toBe(200)
    expect(await polled.text()).toBe('c')

    // An idempotent producer through B, then its resend through C: one record.
    const producer = { 'producer-id': 'p1', 'producer-epoch': '0', 'producer-seq': '0' }
    await expectStatus(append(2, 'd', producer), 200)
    await expectStatus(append(3, 'd', producer), 204)

    const leader = (await cluster.partitionOn(1, 'notes'))!.leader
    await cluster.stopNode(leader)
    const alive = [1, 2, 3].filter((n) => n !== leader)
    await until(async () => {
      const p = await cluster.partitionOn(alive[0]!, 'notes')
      return p && p.leader >= 0 && p.leader !== leader ? p : null
    }, { timeoutMs: 20_000, what: 'a new leader of notes/0' })

    // The producer's next sequence, and its resend, through the survivors: the new leader knows the mapping.
    const next = { ...producer, 'producer-seq': '1' }
    await expectStatus(append(alive[0]!, 'e', next), 200)
    await expectStatus(append(alive[1]!, 'e', next), 204)
    await expectStatus(append(alive[1]!, '', { 'stream-closed': 'true' }), 204)
    for (const n of alive) {
      const after = await readAll(n)
      expect(after.text).toBe('abcde')
      expect(after.closed).toBe('true')
    }
    // Closed on every node: an append is refused wherever it lands.
    const refused = await fetch(url(alive[0]!, 'notes'), { method: 'POST', headers: TEXT, body: 'late' })
    expect(refused.status).toBe(409)
    // And over WebSocket, on the new leader: the broker core refuses it too.
    const newLeader = (await cluster.partitionOn(alive[0]!, 'notes'))!.leader
    const conn = await cluster.open(newLeader)
    const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode('late'), headers: [], timestamp: 1_700_000_000_000 }] })
    const ws = await conn.request(exchanges.produce, { topic: 'notes', partition: 0, acks: -1, timeoutMs: 5_000, batch })
    expect(ws.ok ? null : ws.error.errorName).toBe('POLICY_VIOLATION')
    expect((await readAll(alive[0]!)).text).toBe('abcde')
  }, 90_000)

})
