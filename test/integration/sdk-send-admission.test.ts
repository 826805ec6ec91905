/**
 * Sends keep their call order and exact offsets whichever way they are admitted: queued (the producer not ready yet,
 * a topic whose partition count needs a lookup, or an earlier send still queued) or at once (everything known, the
 * cheap path of one record per send). flush() waits for sends admitted at once as for queued ones.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, memoryStorage, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'

let broker: BrokerFixture | null = null
const clients: SamsaClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await broker?.dispose()
  broker = null
})

async function setUp() {
  broker = await startBrokerFixture()
  const c = createClient({ brokers: broker.running.url, clientId: 'admission', WebSocket: WebSocket as never, storage: memoryStorage() })
  clients.push(c)
  await c.admin.createTopic('t', { partitions: 1 })
  await c.admin.createTopic('u', { partitions: 1 })
  return c
}

describe('send() admission', () => {
  it('one-record sends get consecutive offsets in call order across the queued and the immediate paths', async () => {
    const c = await setUp()
    const p = c.producer({ acks: 'all' })
    const sends: Promise<{ offset: number }[]>[] = []
    const send = (i: number) => sends.push(p.send('t', [{ value: `r${i}` }]))
    // Before ready: queued.
    for (let i = 0; i < 50; i++) send(i)
    await sends[49]
    // Ready and the count of t known: at once.
    for (let i = 50; i < 1_050; i++) send(i)
    // A send to u needs a partition-count lookup: it is queued, and the sends to t after it queue behind it.
    const toU = p.send('u', [{ value: 'u0' }])
    for (let i = 1_050; i < 1_100; i++) send(i)
    const offsets = (await Promise.all(sends)).map((metas) => metas[0]!.offset)
    expect(offsets).toEqual(Array.from({ length: 1_100 }, (_, i) => i))
    expect(await toU).toEqual([{ topic: 'u', partition: 0, offset: 0 }])
  })

  it('a send with a signal aborted in the task that sent it is dropped, even when the producer could admit it at once', async () => {
    const c = await setUp()
    const p = c.producer({ acks: 'all' })
    await p.send('t', [{ value: 'first' }])
    const abort = new AbortController()
    const aborted = p.send('t', [{ value: 'aborted' }], { signal: abort.signal })
    abort.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', recordsDropped: true })
    expect(await p.send('t', [{ value: 'next' }])).toEqual([{ topic: 't', partition: 0, offset: 1 }])
  })

  it('flush() resolves only once every send admitted at once is acknowledged', async () => {
    const c = await setUp()
    const p = c.producer({ acks: 'all', lingerMs: 50 })
    await p.send('t', [{ value: 'first' }])
    let settled = 0
    for (let i = 0; i < 200; i++) void p.send('t', [{ value: `r${i}` }]).then(() => settled++)
    await p.flush()
    expect(settled).toBe(200)
    expect(p.pending()).toEqual({ batches: 0, records: 0 })
  })
})
