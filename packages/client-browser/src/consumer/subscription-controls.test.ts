import { ApiKeys } from '@samsa/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type ClientOptions, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import type { ClientStorage } from '../storage/stores.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'
import type { ConsumerRecord } from './consumer-record.js'

/** A ws WebSocket whose incoming messages can be held back (a slow network on the way to the client). */
class HoldingWebSocket extends WebSocket {
  static hold = false
  static held: (() => void)[] = []
  override addEventListener(type: string, listener: (ev: unknown) => void, opts?: unknown): void {
    const add = super.addEventListener as (t: string, l: unknown, o?: unknown) => void
    if (type !== 'message') return add.call(this, type, listener, opts)
    add.call(this, 'message', (ev: unknown) => (HoldingWebSocket.hold ? HoldingWebSocket.held.push(() => listener(ev)) : listener(ev)), opts)
  }
}

let broker: FakeBroker
let clients: SamsaClient[] = []
beforeEach(async () => {
  broker = await FakeBroker.start()
  clients = []
})
afterEach(async () => {
  HoldingWebSocket.hold = false
  HoldingWebSocket.held = []
  for (const c of clients) await c.close().catch(() => {})
  await broker.close()
})
const client = (extra: Partial<ClientOptions> = {}, storage: ClientStorage = memoryStorage()) => {
  const c = createClient({ brokers: [broker.url], clientId: 'test', WebSocket, reconnectBackoff: { baseMs: 5, capMs: 20 }, storage, heartbeatIntervalMs: 0, ...extra })
  clients.push(c)
  return c
}
async function produce(topic: string, partition: number, values: string[]): Promise<void> {
  const p = client().producer({ lingerMs: 0 })
  for (const v of values) await p.send(topic, [{ value: v, partition }])
}
const subscribeRequests = () => broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').map((r) => (r.body as { offset: number }).offset)
const settled = (p: Promise<unknown>) => Promise.race([p.then(() => 'resolved', () => 'rejected'), new Promise((r) => setTimeout(r, 0)).then(() => 'pending')])

describe('sub.ready', () => {
  it("settles only once the broker confirmed every partition; from 'latest', a record produced after it is delivered", async () => {
    broker.createTopic('t', 2)
    await produce('t', 0, ['old'])
    broker.unanswered.add(ApiKeys.SUBSCRIBE)
    const got: ConsumerRecord[] = []
    let readyEvents = 0
    const sub = client().consumer().subscribe('t', { from: 'latest', onRecord: (r) => void got.push(r) })
    sub.onReady(() => readyEvents++)
    await until(() => subscribeRequests().length === 2, { what: 'both subscribes sent' })
    expect(await settled(sub.ready)).toBe('pending')
    expect(readyEvents).toBe(0)
    // The broker answers now (a re-subscribe after a reconnect, as if the first answers were lost).
    broker.unanswered.delete(ApiKeys.SUBSCRIBE)
    broker.dropConnections()
    await sub.ready
    expect(readyEvents).toBe(1)
    expect([sub.position(0), sub.position(1)]).toEqual([1, 0])
    await produce('t', 0, ['new'])
    await until(() => got.length === 1, { what: 'the record produced after ready' })
    expect(got[0]!.text()).toBe('new')
    let late = 0
    sub.onReady(() => late++)
    await Promise.resolve()
    expect(late).toBe(1)
    sub.close()
  })

  it('when the connection drops before the broker answered, the start was never chosen: the re-subscribe asks for latest again and ready waits for it', async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['a', 'b'])
    broker.dropOnNext(ApiKeys.SUBSCRIBE)
    const got: string[] = []
    const sub = client().consumer().subscribe('t', { from: 'latest', onRecord: (r) => void got.push(r.text()) })
    await sub.ready
    expect(subscribeRequests()).toEqual([-1, -1])
    expect(sub.position(0)).toBe(2)
    await produce('t', 0, ['c'])
    await until(() => got.length === 1, { what: 'the record produced after ready' })
    expect(got).toEqual(['c'])
    sub.close()
  })

  it("a subscribe answered after it timed out fixes the start it resolved: a record produced before the retry's answer is delivered", async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['old'])
    const c = client({ WebSocket: HoldingWebSocket as unknown as typeof WebSocket, requestTimeoutMs: 200 })
    const warm = c.consumer().subscribe('t', { from: 'latest' }) // connects this client
    await warm.ready
    warm.close()
    HoldingWebSocket.hold = true
    const got: string[] = []
    const sub = c.consumer({ retryBackoff: { baseMs: 1, capMs: 1 } }).subscribe('t', { from: 'latest', onRecord: (r) => void got.push(r.text()) })
    await until(() => subscribeRequests().length === 2, { what: 'the first subscribe reached the broker' })
    // The broker resolved 'latest' to 1; this record lands at 1 while the answer is still on its way.
    await produce('t', 0, ['between'])
    await until(() => subscribeRequests().length === 3, { what: 'the subscribe timed out and was retried' })
    HoldingWebSocket.hold = false
    for (const deliver of HoldingWebSocket.held.splice(0)) deliver()
    await sub.ready
    expect(subscribeRequests().slice(1)).toEqual([-1, -1, 1])
    await until(() => got.length === 1, { what: 'the record produced between' })
    expect(got).toEqual(['between'])
    sub.close()
  })

  it('rejects when the subscription ends first: an unknown topic, close(), an abort', async () => {
    broker.createTopic('t', 1)
    const c = client()
    await expect(c.consumer().subscribe('nope').ready).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
    broker.unanswered.add(ApiKeys.SUBSCRIBE)
    const closing = c.consumer().subscribe('t')
    closing.close()
    await expect(closing.ready).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe("until: 'end'", () => {
  it('reads each partition up to its high watermark at confirmation, then the iteration ends and closed resolves', async () => {
    broker.createTopic('t', 3)
    await produce('t', 0, ['a0', 'a1', 'a2'])
    await produce('t', 1, ['b0', 'b1'])
    const c = client()
    const sub = c.consumer().subscribe('t', { from: 'earliest', until: 'end' })
    await sub.ready
    await produce('t', 0, ['after']) // appended after ready: beyond the end
    const seen: string[] = []
    for await (const r of sub) seen.push(r.text())
    expect(seen.sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1'])
    expect(await sub.closed).toBeUndefined()
    // Every broker subscription was dropped.
    const subs = broker.requests.filter((r) => r.apiKey === 'SUBSCRIBE').length
    await until(() => broker.requests.filter((r) => r.apiKey === 'UNSUBSCRIBE').length === subs, { what: 'every subscription unsubscribed' })
  })

  it("ends at once on empty partitions and on 'latest'; a callback subscription ends after its last callback", async () => {
    broker.createTopic('t', 2)
    await produce('t', 1, ['x'])
    const c = client()
    const empty: string[] = []
    for await (const r of c.consumer().subscribe('t', { from: 'latest', until: 'end' })) empty.push(r.text())
    expect(empty).toEqual([])
    const got: string[] = []
    let inCallback = false
    const sub = c.consumer().subscribe('t', {
      from: 'earliest',
      until: 'end',
      onRecord: async (r) => {
        inCallback = true
        await Promise.resolve()
        got.push(r.text())
        inCallback = false
      },
    })
    await sub.closed
    expect(inCallback).toBe(false)
    expect(got).toEqual(['x'])
  })

  it("with from: 'stored', the last record's position is committed before closed resolves", async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['a', 'b'])
    const storage = memoryStorage()
    const sub = client({}, storage).consumer({ id: 'r' }).subscribe('t', { from: 'stored', until: 'end' })
    let n = 0
    for await (const _ of sub) n++
    await sub.closed
    expect(n).toBe(2)
    expect((await storage.offsets.get('r', 't', 0))?.offset).toBe(2)
  })
})

describe('signal', () => {
  it('an abort ends the iteration, unsubscribes on the broker and rejects a pending ready with the reason', async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['a'])
    const c = client()
    const ac = new AbortController()
    const sub = c.consumer().subscribe('t', { from: 'earliest', signal: ac.signal })
    const seen: string[] = []
    for await (const r of sub) {
      seen.push(r.text())
      ac.abort()
    }
    expect(seen).toEqual(['a'])
    expect(await sub.closed).toBeUndefined()
    await until(() => broker.requests.some((r) => r.apiKey === 'UNSUBSCRIBE'), { what: 'the unsubscribe' })

    broker.unanswered.add(ApiKeys.SUBSCRIBE)
    const ac2 = new AbortController()
    const pending = c.consumer().subscribe('t', { signal: ac2.signal })
    ac2.abort(new Error('user left'))
    await expect(pending.ready).rejects.toThrow('user left')
    const already = c.consumer().subscribe('t', { signal: AbortSignal.abort() })
    await expect(already.ready).rejects.toMatchObject({ name: 'AbortError' })
    expect(await already.closed).toBeUndefined()
  })
})

describe('pause, resume, seek', () => {
  it('pause holds a partition’s records (its position stays), other partitions flow; resume delivers them in order', async () => {
    broker.createTopic('t', 2)
    await produce('t', 0, ['a0', 'a1'])
    const got: string[] = []
    const sub = client().consumer().subscribe('t', { from: 'earliest', partitions: [0, 1] })
    sub.pause([0])
    sub.onRecord((r) => void got.push(r.text()))
    await sub.ready
    await produce('t', 1, ['b0'])
    await until(() => got.length === 1, { what: 'the unpaused partition’s record' })
    expect(got).toEqual(['b0'])
    expect(sub.position(0)).toBe(0)
    sub.resume()
    await until(() => got.length === 3, { what: 'the paused records' })
    expect(got).toEqual(['b0', 'a0', 'a1'])
    sub.close()
  })

  it('seek changes the next delivered offset and discards what was buffered for the partition', async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['m0', 'm1', 'm2', 'm3'])
    const sub = client().consumer().subscribe('t', { from: 'earliest', partitions: [0] })
    const it = sub[Symbol.asyncIterator]()
    expect((await it.next()).value.offset).toBe(0)
    await until(() => broker.pushes.length > 0, { what: 'records buffered' })
    sub.seek(0, 3)
    expect(sub.position(0)).toBe(3)
    expect((await it.next()).value.offset).toBe(3)
    sub.seek(0, 'earliest')
    expect((await it.next()).value.offset).toBe(0)
    expect((await it.next()).value.offset).toBe(1)
    sub.close()
  })

  it("seek before ready sets where the partition starts; on an auto-commit 'stored' subscription it is committed at once, backwards too", async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['m0', 'm1', 'm2', 'm3'])
    const storage = memoryStorage()
    await storage.offsets.put('r', 't', 0, { offset: 3, leaderEpoch: 0 })
    const sub = client({}, storage).consumer({ id: 'r' }).subscribe('t', { from: 'stored', partitions: [0] })
    sub.seek(0, 1)
    const it = sub[Symbol.asyncIterator]()
    expect((await it.next()).value.offset).toBe(1)
    await sub.flush()
    expect((await storage.offsets.get('r', 't', 0))?.offset).toBe(1)
    sub.close()
  })

  it("on a manual-commit 'stored' subscription a seek writes nothing; the next commit may move the stored position backwards", async () => {
    broker.createTopic('t', 1)
    await produce('t', 0, ['m0', 'm1', 'm2', 'm3'])
    const storage = memoryStorage()
    await storage.offsets.put('r', 't', 0, { offset: 3, leaderEpoch: 0 })
    const sub = client({}, storage).consumer({ id: 'r' }).subscribe('t', { from: 'stored', commit: 'manual', partitions: [0] })
    await sub.ready
    sub.seek(0, 1)
    await sub.flush()
    expect((await storage.offsets.get('r', 't', 0))?.offset).toBe(3)
    const it = sub[Symbol.asyncIterator]()
    expect((await it.next()).value.offset).toBe(1)
    await sub.commit()
    expect((await storage.offsets.get('r', 't', 0))?.offset).toBe(2)
    sub.close()
  })
})

describe('argument checks', () => {
  it('subscribe throws a TypeError naming the argument and subscribes nothing', () => {
    broker.createTopic('t', 1)
    const consumer = client().consumer()
    expect(() => consumer.subscribe({ topic: 't' } as never)).toThrow(/topic must be a topic name.*kafkajs/)
    expect(() => consumer.subscribe('bad name')).toThrow(TypeError)
    expect(() => consumer.subscribe('t', { form: 'earliest' } as never)).toThrow(/unknown option "form"/)
    expect(() => consumer.subscribe('t', { from: 'beginning' as never })).toThrow(/opts.from must be/)
    expect(() => consumer.subscribe('t', { partitions: [0, 0] })).toThrow(/opts.partitions must be/)
    expect(() => consumer.subscribe('t', { creditWindowBytes: 0 })).toThrow(/opts.creditWindowBytes/)
    expect(() => consumer.subscribe('t', { until: 'forever' as never })).toThrow(/opts.until/)
    expect(() => consumer.subscribe('t', { signal: {} as never })).toThrow(/opts.signal must be an AbortSignal/)
    expect(broker.requests).toEqual([])
  })

  it('client.consumer throws a TypeError naming a bad option', () => {
    const c = client()
    expect(() => c.consumer({ id: '' })).toThrow(/options.id must be a non-empty string/)
    expect(() => c.consumer({ groupId: 'g' } as never)).toThrow(/options.groupId needs a client from '@samsa\/client-browser\/groups'/)
    expect(() => c.consumer({ retryBackoff: { baseMs: -1, capMs: 5 } })).toThrow(/options.retryBackoff/)
    expect(c.consumer({ id: 'ok', creditWindowBytes: 1024 }).id).toBe('ok')
  })

  it('pause/resume/seek throw for bad arguments and leave the subscription as it was', async () => {
    broker.createTopic('t', 2)
    await produce('t', 0, ['a'])
    const got: string[] = []
    const sub = client().consumer().subscribe('t', { from: 'earliest' })
    expect(() => sub.pause([0])).toThrow(/await sub.ready/)
    await sub.ready
    expect(() => sub.pause([5])).toThrow(RangeError)
    expect(() => sub.pause(0 as never)).toThrow(/partitions must be a non-empty array/)
    expect(() => sub.seek(0, -3 as never)).toThrow(/to must be an offset/)
    expect(() => sub.seek('0' as never, 1)).toThrow(/partition must be a partition number/)
    await expect(sub.commit()).rejects.toThrow(TypeError)
    await expect(sub.process(null as never, { stores: [] })).rejects.toThrow(/handler must be a function/)
    expect(() => sub.onRecord(42 as never)).toThrow(/callback must be a function/)
    sub.onRecord((r) => void got.push(r.text()))
    await until(() => got.length === 1, { what: 'delivery after the bad calls' })
    sub.close()
  })
})
