import { decodeRecords, encodeCompactedBatch } from '@samsa/shared'
import { afterEach, beforeEach, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'

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

/** Rewrites the fake broker's batch i as the log cleaner would, keeping only the records at `keep` offsets. */
function compact(i: number, keep: readonly number[]): void {
  const batches = broker.partition('t', 0).batches
  const { header, records } = decodeRecords(batches[i]!.bytes)
  batches[i] = { ...batches[i]!, bytes: encodeCompactedBatch(header, records.filter((r) => keep.includes(r.offset))) }
}

it('offsets a compacted log no longer holds are neither data loss nor a bad push: no gap, no re-subscribe', async () => {
  broker.createTopic('t', 1)
  const p = createClient({ brokers: [broker.url], clientId: 'p', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(p)
  const producer = p.producer({ lingerMs: 0 })
  await producer.send('t', [{ key: 'a', value: '1' }, { key: 'b', value: '1' }, { key: 'a', value: '2' }]) // offsets 0-2
  await producer.send('t', [{ key: 'b', value: null }]) // offset 3
  await producer.send('t', [{ key: 'c', value: '1' }]) // offset 4
  compact(0, [2]) // 0 and 1 removed: a gap inside the batch
  compact(1, []) // the tombstone expired: an empty batch keeps offset 3's place
  const c = createClient({ brokers: [broker.url], clientId: 'c', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0 })
  clients.push(c)
  const got: number[] = []
  const gaps: unknown[] = []
  const sub = c.consumer().subscribe('t', { from: 'earliest', partitions: [0], onRecord: (r) => void got.push(r.offset) })
  sub.onGap((g) => void gaps.push(g))
  await until(() => got.length === 2, { what: 'the records the compacted log holds' })
  await producer.send('t', [{ key: 'd', value: '1' }]) // offset 5, after the gaps
  await until(() => got.length === 3, { what: 'a record after the compacted range' })
  expect(got).toEqual([2, 4, 5])
  expect(gaps).toEqual([])
  expect(broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE')).toHaveLength(1)
})
