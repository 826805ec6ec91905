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
import { createClient, SamsaError, type Producer, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'

const SETTLE_BOUND_MS = 15_000
let fx: BrokerFixture
let client: SamsaClient
let producer: Producer
let goodCalls = 0

/** Arguments a confused caller passes: anything, plus near-misses of the real shapes. */
const arg = fc.oneof(
  { weight: 3, arbitrary: fc.anything({ withNullPrototype: true, withTypedArray: true, withMap: true, withBigInt: true, withDate: true }) },
  fc.constantFrom('prop', '', 'earliest', 'latest', 'no-such-topic', 'bad name!', undefined, null, NaN, -1, 0, 1, 2 ** 40),
  fc.array(fc.record({ key: fc.anything(), value: fc.oneof(fc.string(), fc.anything()), headers: fc.anything(), partition: fc.anything(), timestamp: fc.anything() }, { requiredKeys: [] }), { maxLength: 3 }),
  fc.record({ value: fc.string() }),
  fc.record({ topic: fc.string(), messages: fc.array(fc.record({ value: fc.string() }), { maxLength: 2 }) }),
  fc.record({ signal: fc.oneof(fc.anything(), fc.constant(AbortSignal.abort())), timeoutMs: fc.anything() }, { requiredKeys: [] }),
  fc.record({ partitions: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.anything()), timestamp: fc.anything() }, { requiredKeys: [] }),
  fc.record({ brokers: fc.oneof(fc.string(), fc.constant(['localhost:1']), fc.anything()), WebSocket: fc.constant(WebSocket), clientId: fc.anything() }, { requiredKeys: [] }),
)

type Call = { name: string; kind: 'async' | 'sync'; run: (a: unknown[]) => unknown }
const calls: Call[] = [
  { name: 'send', kind: 'async', run: (a) => (producer.send as (...x: unknown[]) => unknown)(...a) },
  { name: 'flush', kind: 'async', run: (a) => (producer.flush as (...x: unknown[]) => unknown)(...a) },
  { name: 'connect', kind: 'async', run: (a) => (client.connect as (...x: unknown[]) => unknown)(...a) },
  { name: 'createTopic', kind: 'async', run: (a) => (client.admin.createTopic as (...x: unknown[]) => unknown).apply(client.admin, a) },
  { name: 'deleteTopic', kind: 'async', run: (a) => (client.admin.deleteTopic as (...x: unknown[]) => unknown).apply(client.admin, a) },
  { name: 'describeTopic', kind: 'async', run: (a) => (client.admin.describeTopic as (...x: unknown[]) => unknown).apply(client.admin, a) },
  { name: 'listOffsets', kind: 'async', run: (a) => (client.admin.listOffsets as (...x: unknown[]) => unknown).apply(client.admin, a) },
  { name: 'listTopics', kind: 'async', run: (a) => (client.admin.listTopics as (...x: unknown[]) => unknown).apply(client.admin, a) },
  { name: 'producer', kind: 'sync', run: (a) => (client.producer as (...x: unknown[]) => Producer)(...a).release() },
  { name: 'consumer', kind: 'sync', run: (a) => (client.consumer as (...x: unknown[]) => unknown)(...a) },
  { name: 'onPending', kind: 'sync', run: (a) => ((producer.onPending as (...x: unknown[]) => () => void)(...a))() },
  { name: 'onStatus', kind: 'sync', run: (a) => ((client.onStatus as (...x: unknown[]) => () => void)(...a))() },
  { name: 'createClient', kind: 'sync', run: (a) => (createClient as (...x: unknown[]) => SamsaClient)(...a) },
]

function settleWithin(p: Promise<unknown>, what: string): Promise<{ ok: true } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${SETTLE_BOUND_MS} ms`)), SETTLE_BOUND_MS)))
  return Promise.race([p.then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error })), deadline]).finally(() => clearTimeout(timer))
}

const acceptable = (error: unknown) => error instanceof TypeError || (error instanceof SamsaError && typeof error.errorName === 'string')

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
      fc.asyncProperty(fc.constantFrom(...calls), fc.array(arg, { maxLength: 4 }), async (call, args) => {
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
      { numRuns: 150, seed: 0x5a45a },
    )
    const latest = await client.admin.listOffsets('good', 0, 'latest')
    expect(latest.offset).toBe(goodCalls)
  })
})
