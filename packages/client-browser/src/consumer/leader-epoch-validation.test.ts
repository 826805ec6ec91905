import { ApiKeys, encodeRecordBatch } from '@samsa/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import type { ClientStorage } from '../storage/stores.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'
import type { ConsumerRecord } from './consumer-record.js'
import type { Gap } from './subscription.js'

async function take(sub: AsyncIterable<ConsumerRecord>, n: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = []
  for await (const r of sub) {
    out.push(r)
    if (out.length === n) break
  }
  return out
}

const te = new TextEncoder()

describe('positions validated by leader epoch (KIP-320) against the fake broker', () => {
  let broker: FakeBroker
  let clients: SamsaClient[] = []
  beforeEach(async () => {
    broker = await FakeBroker.start()
    clients = []
  })
  afterEach(async () => {
    for (const c of clients) await c.close().catch(() => {})
    await broker.close()
  })
  const client = (storage: ClientStorage = memoryStorage()) => {
    const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 }, storage, heartbeatIntervalMs: 0 })
    clients.push(c)
    return c
  }
  /** Appends one batch per value straight into the fake's log, at its current leader epoch (no client involved). */
  const append = (values: string[]) => {
    for (const v of values) broker.partition('t', 0).append(encodeRecordBatch({ records: [{ key: null, value: te.encode(v), headers: [], timestamp: 1 }] }))
  }
  const range = (from: number, to: number, prefix: string) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`)
  const validations = () => broker.requests.filter((r) => r.apiKey === 'OFFSET_FOR_LEADER_EPOCH').map((r) => r.body)

  /** Log: epoch 0 holds m0..m4 (offsets 0..4), epoch 1 holds n5..n9 (offsets 5..9). */
  function twoEpochs(): void {
    broker.createTopic('t', 1)
    append(range(0, 5, 'm'))
    broker.newLeaderEpoch('t', 0)
    append(range(5, 10, 'n'))
  }

  it('a stored position above where its epoch ends on the leader: a truncation gap, and delivery continues at the epoch end', async () => {
    twoEpochs()
    const storage = memoryStorage()
    await storage.offsets.put('default', 't', 0, { offset: 8, leaderEpoch: 0 }) // read 0..7 from a history whose epoch 0 went on to 8
    const gaps: Gap[] = []
    const sub = client(storage).consumer().subscribe('t', { from: 'stored' })
    sub.onGap((g) => gaps.push(g))
    expect((await take(sub, 5)).map((r) => [r.offset, r.text()])).toEqual([[5, 'n5'], [6, 'n6'], [7, 'n7'], [8, 'n8'], [9, 'n9']])
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 5, to: 8, reason: 'truncation' }])
    expect(validations()).toEqual([{ topic: 't', partition: 0, replicaId: -1, currentLeaderEpoch: 1, leaderEpoch: 0 }])
    // Positions committed from there carry the epoch of the records read (breaking out leaves offset 9 uncommitted).
    await sub.closed
    expect(await storage.offsets.get('default', 't', 0)).toEqual({ offset: 9, leaderEpoch: 1 })
  })

  it('a stored position within its epoch resumes exactly; one without an epoch is not validated', async () => {
    twoEpochs()
    const storage = memoryStorage()
    await storage.offsets.put('default', 't', 0, { offset: 5, leaderEpoch: 0 }) // epoch 0 ends at 5: consistent
    const gaps: Gap[] = []
    const sub = client(storage).consumer().subscribe('t', { from: 'stored' })
    sub.onGap((g) => gaps.push(g))
    expect((await take(sub, 1))[0]!.offset).toBe(5)
    expect(validations()).toHaveLength(1)
    await storage.offsets.put('other', 't', 0, { offset: 8, leaderEpoch: -1 })
    const unchecked = client(storage).consumer({ id: 'other' }).subscribe('t', { from: 'stored' })
    unchecked.onGap((g) => gaps.push(g))
    expect((await take(unchecked, 1))[0]!.offset).toBe(8)
    expect(validations()).toHaveLength(1)
    expect(gaps).toEqual([])
  })

  it('a subscription whose leader moves to a truncated log reports the truncation and reads the new history', async () => {
    broker.createTopic('t', 1)
    append(range(0, 10, 'm'))
    const storage = memoryStorage()
    const gaps: Gap[] = []
    const sub = client(storage).consumer().subscribe('t', { from: 'stored' })
    sub.onGap((g) => gaps.push(g))
    const it = sub[Symbol.asyncIterator]()
    for (let i = 0; i < 10; i++) expect((await it.next()).value.offset).toBe(i)
    // An unclean leader change while the client is cut off: the new leader lacks 7..9, and has new records there.
    broker.unreachable = true
    broker.dropConnections()
    broker.truncateAfter('t', 0, 7)
    broker.newLeaderEpoch('t', 0)
    append(['x7', 'x8', 'x9', 'x10'])
    broker.unreachable = false
    const next = await it.next()
    expect([next.value.offset, next.value.text()]).toEqual([7, 'x7'])
    expect(gaps).toEqual([{ topic: 't', partition: 0, from: 7, to: 10, reason: 'truncation' }])
    expect(validations()).toEqual([{ topic: 't', partition: 0, replicaId: -1, currentLeaderEpoch: 1, leaderEpoch: 0 }])
    await until(async () => (await storage.offsets.get('default', 't', 0))?.offset === 7, { what: 'the stored position moved back' })
  })

  it('without stored positions or a reset policy, a truncation found by validation fails the subscription with OFFSET_OUT_OF_RANGE', async () => {
    broker.createTopic('t', 1)
    append(range(0, 4, 'm'))
    const sub = client().consumer().subscribe('t', { from: 'earliest' })
    const it = sub[Symbol.asyncIterator]()
    for (let i = 0; i < 4; i++) await it.next()
    broker.unreachable = true
    broker.dropConnections()
    broker.truncateAfter('t', 0, 2)
    broker.newLeaderEpoch('t', 0)
    append(['x2', 'x3', 'x4'])
    broker.unreachable = false
    await expect(it.next()).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' })
  })

  it('an older broker that cannot answer the validation: the position is used unvalidated', async () => {
    twoEpochs()
    const storage = memoryStorage()
    await storage.offsets.put('default', 't', 0, { offset: 8, leaderEpoch: 0 })
    broker.failNext(ApiKeys.OFFSET_FOR_LEADER_EPOCH, 'UNKNOWN_API_KEY')
    const sub = client(storage).consumer().subscribe('t', { from: 'stored' })
    expect((await take(sub, 1))[0]!.offset).toBe(8)
  })
})
