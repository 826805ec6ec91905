/**
 * Property: whatever arguments a caller passes to the SDK's public calls (createClient, producer(), consumer(), send,
 * flush, connect, onPending, onStatus, the admin methods), an async call never throws synchronously and settles
 * (resolves, or rejects with a TypeError or a coded SamsaError) within a bound, a sync call returns or throws a
 * TypeError, and a good call right after it works: the producer, its outbox and pending() are unchanged. Against a
 * real in-process broker.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { AbortError, createClient, SamsaError, type Producer, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'

const SETTLE_BOUND_MS = 15_000
let fx: BrokerFixture
let client: SamsaClient
let producer: Producer
let goodCalls = 0

/** Arguments a confused caller passes: anything, plus near-misses of the real shapes. */
const anything = fc.anything({ withNullPrototype: true, withTypedArray: true, withMap: true, withBigInt: true, withDate: true })
const nearly = <T>(arb: fc.Arbitrary<T>, weight = 2) => fc.oneof({ weight, arbitrary: arb }, anything, fc.constantFrom(undefined, null, '', 0, -1, NaN, 2 ** 40))
/** A field of an otherwise good argument: usually right. */
const mostly = <T>(arb: fc.Arbitrary<T>) => nearly(arb, 12)
const topic = nearly(fc.constantFrom('prop', 'no-such-topic', 'bad name!', 'a'.repeat(300)))
/** deleteTopic never gets 'prop' (the topic the random sends aim at). */
const deletable = nearly(fc.constantFrom('no-such-topic', 'bad name!', 'a'.repeat(300)))
const recordArray = fc.array(
  fc.record({ value: mostly(fc.oneof(fc.string(), fc.constant(null))), key: mostly(fc.string()), headers: mostly(fc.dictionary(fc.string(), fc.string())), partition: mostly(fc.integer({ min: -1, max: 1 })), timestamp: mostly(fc.nat()) }, { requiredKeys: ['value'] }),
  { maxLength: 3 },
)
const records = nearly(
  fc.oneof(
    recordArray,
    fc.array(fc.record({ value: mostly(fc.oneof(fc.string(), fc.constant(null))), key: mostly(fc.string()), headers: mostly(fc.dictionary(fc.string(), fc.string())), partition: mostly(fc.integer({ min: -1, max: 1 })), timestamp: mostly(fc.nat()) }, { requiredKeys: ['value'] }), { maxLength: 3 }),
    fc.record({ value: fc.string() }), // one record, not an array
    fc.record({ topic: fc.string(), messages: fc.array(fc.record({ value: fc.string() }), { maxLength: 2 }) }), // kafkajs
  ),
)
const signalOptions = nearly(fc.record({ signal: nearly(fc.constantFrom(AbortSignal.abort(), new AbortController().signal)) }, { requiredKeys: [] }))
/** One arbitrary per parameter; mostly all of them, sometimes fewer (a call missing its last arguments). */
const args = (...positions: fc.Arbitrary<unknown>[]) =>
  fc.tuple(fc.tuple(...positions), fc.oneof({ weight: 3, arbitrary: fc.constant(positions.length) }, fc.nat(positions.length))).map(([all, n]) => all.slice(0, n))

type Call = { name: string; kind: 'async' | 'sync'; args: fc.Arbitrary<unknown[]>; run: (a: unknown[]) => unknown }
const on = (target: object, method: string) => (a: unknown[]) => (target as Record<string, (...x: unknown[]) => unknown>)[method]!(...a)
const table: Call[] = [
  { name: 'send', kind: 'async', args: args(topic, records, signalOptions), run: (a) => on(producer, 'send')(a) },
  { name: 'send (nearly right)', kind: 'async', args: args(mostly(fc.constantFrom('prop', 'no-such-topic')), mostly(recordArray), signalOptions), run: (a) => on(producer, 'send')(a) },
  { name: 'flush', kind: 'async', args: args(signalOptions), run: (a) => on(producer, 'flush')(a) },
  { name: 'connect', kind: 'async', args: args(nearly(fc.record({ timeoutMs: nearly(fc.integer({ min: -1, max: 5_000 })) }, { requiredKeys: [] }))), run: (a) => on(client, 'connect')(a) },
  { name: 'createTopic', kind: 'async', args: args(topic, nearly(fc.record({ partitions: nearly(fc.integer({ min: -1, max: 3 })) }, { requiredKeys: [] }))), run: (a) => on(client.admin, 'createTopic')(a) },
  { name: 'deleteTopic', kind: 'async', args: args(deletable), run: (a) => on(client.admin, 'deleteTopic')(a) },
  { name: 'describeTopic', kind: 'async', args: args(topic), run: (a) => on(client.admin, 'describeTopic')(a) },
  { name: 'listOffsets', kind: 'async', args: args(topic, nearly(fc.integer({ min: -1, max: 2 })), nearly(fc.oneof(fc.constantFrom('earliest', 'latest'), fc.record({ timestamp: nearly(fc.nat()) })))), run: (a) => on(client.admin, 'listOffsets')(a) },
  { name: 'listTopics', kind: 'async', args: args(anything), run: (a) => on(client.admin, 'listTopics')(a) },
  { name: 'producer', kind: 'sync', args: args(nearly(fc.record({ acks: nearly(fc.constantFrom('all', 'leader', 'none')), lingerMs: nearly(fc.nat(5)), id: nearly(fc.string()) }, { requiredKeys: [] }))), run: (a) => (on(client, 'producer')(a) as Producer).release() },
  { name: 'consumer', kind: 'sync', args: args(nearly(fc.record({ id: nearly(fc.string()), creditWindowBytes: nearly(fc.nat()) }, { requiredKeys: [] }))), run: (a) => on(client, 'consumer')(a) },
  { name: 'onPending', kind: 'sync', args: args(nearly(fc.constant(() => {}))), run: (a) => (on(producer, 'onPending')(a) as () => void)() },
  { name: 'onStatus', kind: 'sync', args: args(nearly(fc.constant(() => {}))), run: (a) => (on(client, 'onStatus')(a) as () => void)() },
  {
    name: 'createClient',
    kind: 'sync',
    args: args(nearly(fc.record({ brokers: nearly(fc.constantFrom('localhost:1', 'ws://127.0.0.1:1/ws', 'tcp://x:1', ['http://h:1'], [])), WebSocket: fc.constant(WebSocket), requestTimeoutMs: nearly(fc.nat()) }, { requiredKeys: [] }))),
    run: (a) => (createClient as (...x: unknown[]) => SamsaClient)(...a),
  },
]

function settleWithin(p: Promise<unknown>, what: string): Promise<{ ok: true } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${SETTLE_BOUND_MS} ms`)), SETTLE_BOUND_MS)))
  return Promise.race([p.then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error })), deadline]).finally(() => clearTimeout(timer))
}

/** A TypeError for bad arguments, a coded SamsaError from the broker, or an AbortError when the signal passed was aborted. */
const acceptable = (error: unknown) => error instanceof TypeError || error instanceof AbortError || (error instanceof SamsaError && typeof error.errorName === 'string')

beforeAll(async () => {
  fx = await startBrokerFixture()
  client = createClient({ brokers: fx.running.url, clientId: 'property', WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 20, capMs: 200 } })
  await client.admin.createTopic('good', { partitions: 1 })
  await client.admin.createTopic('prop', { partitions: 1 })
  producer = client.producer()
})

afterAll(async () => {
  if (client) await settleWithin(client.close(), 'client.close()')
  await fx?.dispose()
})

describe('every public call settles on any arguments, and the next good call works', () => {
  it('random argument shapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(...table.map((c) => c.args.map((a): [string, unknown[]] => [c.name, a]))), async ([name, args]) => {
        const call = table.find((c) => c.name === name)!
        let result: unknown
        let thrown: unknown = null
        try {
          result = call.run(args)
        } catch (error) {
          thrown = error
        }
        if (call.kind === 'async') {
          expect(thrown, `${call.name} threw synchronously`).toBeNull()
          expect(result).toBeInstanceOf(Promise)
          const outcome = await settleWithin(result as Promise<unknown>, `${call.name}(${args.length} args)`)
          if (!outcome.ok) expect(acceptable(outcome.error), `${call.name} rejected with ${String(outcome.error)}`).toBe(true)
        } else if (thrown !== null) {
          expect(thrown, `${call.name} threw ${String(thrown)}`).toBeInstanceOf(TypeError)
        } else if (call.name === 'createClient') {
          await settleWithin((result as SamsaClient).close(), 'close() of a client made from random options')
        }
        // The next good call works and leaves nothing behind.
        const good = producer.send('good', [{ value: `good-${goodCalls++}` }])
        expect(await settleWithin(good, 'a good send')).toEqual({ ok: true })
        expect(await good).toEqual([{ topic: 'good', partition: 0, offset: goodCalls - 1 }])
        await settleWithin(producer.flush(), 'flush')
        expect(producer.pending()).toEqual({ batches: 0, records: 0 })
      }),
      { numRuns: 300, seed: 0x5a45a },
    )
    const latest = await client.admin.listOffsets('good', 0, 'latest')
    expect(latest.offset).toBe(goodCalls)
  })
})
