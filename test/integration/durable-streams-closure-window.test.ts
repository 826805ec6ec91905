/**
 * The closure window of a new stream leader: a close acknowledged just before a node took over a stream's
 * partition, not yet applied by that node's follow of the catalog, still refuses the first WebSocket append the
 * node is asked for (it syncs the catalog before deciding). The close is the catalog record another node's close
 * writes, produced straight into `__durable_streams`, then the append is sent at once to the new leader, so the
 * node's follow (a long poll woken on the catalog's leader, then a sync) has had no time to apply it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges } from '../../packages/shared/src/index.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { until } from '../support/until.js'

let cluster: InProcessCluster
const url = (node: number, path: string) => `${cluster.nodes.get(node)!.httpUrl}/v1/stream/${path}`
const encoder = new TextEncoder()
const batchOf = (value: string) => encodeRecordBatch({ records: [{ key: null, value: encoder.encode(value), headers: [], timestamp: 1_700_000_000_000 }] })

beforeAll(async () => {
  cluster = await InProcessCluster.start({ dirPrefix: 'samsa-ds-window' })
  await until(async () => (await cluster.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

describe('Durable Streams closure on a new leader', () => {
  it('a close acknowledged before a node leads the stream refuses its first WebSocket append', async () => {
    const created = await fetch(url(1, 'window'), { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'a' })
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`)
    const old = (await cluster.partitionOn(1, 'window'))!.leader
    await cluster.stopNode(old)
    const alive = [1, 2, 3].filter((n) => n !== old)
    const next = await until(async () => {
      const p = await cluster.partitionOn(alive[0]!, 'window')
      return p && p.leader >= 0 && p.leader !== old ? p.leader : null
    }, { timeoutMs: 20_000, what: 'a new leader of window/0' })
    const leaderConn = await cluster.open(next)
    const close = { op: 'close', topic: 'window', by: null }
    // Written on the catalog's leader (just elected, maybe not serving yet: retried, bounded), as a close there does.
    await until(async () => {
      const p = await cluster.partitionOn(next, '__durable_streams')
      if (!p || p.leader < 0 || p.leader === old) return null
      const conn = await cluster.open(p.leader)
      const r = await conn.request(exchanges.produce, { topic: '__durable_streams', partition: 0, acks: -1, timeoutMs: 5_000, batch: batchOf(JSON.stringify(close)) })
      return r.ok ? true : null
    }, { timeoutMs: 20_000, what: 'the close written to the stream catalog' })
    // At once (retried only while the new leader's role is not applied yet: refused before any guard, nothing appended).
    const late = await until(async () => {
      const r = await leaderConn.request(exchanges.produce, { topic: 'window', partition: 0, acks: -1, timeoutMs: 5_000, batch: batchOf('late') })
      return !r.ok && r.error.errorName === 'NOT_LEADER_OR_FOLLOWER' ? null : r
    }, { timeoutMs: 10_000, what: 'an answer of the new leader' })
    expect(late.ok ? null : late.error.errorName).toBe('POLICY_VIOLATION')
    // A leader just elected may start from an older high watermark: read once it covers the first record.
    const read = await until(async () => {
      const r = await fetch(url(next, 'window?offset=-1'))
      const text = await r.text()
      return text === '' ? null : { text, closed: r.headers.get('stream-closed') }
    }, { timeoutMs: 10_000, what: 'the first record readable on the new leader' })
    expect(read).toEqual({ text: 'a', closed: 'true' })
  }, 60_000)
})
