import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type SamsaClient } from '../client.js'
import { memoryStorage } from '../storage/memory-storage.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { until } from '../testing/until.js'
import type { Consumer } from './consumer.js'
import type { Subscription } from './subscription.js'

let broker: FakeBroker
let c: SamsaClient
let consumer: Consumer
let sub: Subscription
/** How the current subscription ended: undefined while it is open, null after close(), else its error. */
let ended: Error | null | undefined
const got: number[] = []

beforeAll(async () => {
  broker = await FakeBroker.start()
  broker.createTopic('t', 2)
  c = createClient({ brokers: [broker.url], clientId: 'prop', WebSocket, storage: memoryStorage(), heartbeatIntervalMs: 0, reconnectBackoff: { baseMs: 5, capMs: 20 } })
  await c.producer({ lingerMs: 0 }).send('t', [{ value: 'r0', partition: 0 }])
  consumer = c.consumer()
  await open()
})

/** A fresh subscription of both partitions from 'earliest' (no `reset`); resolves once it delivered partition 0's record. */
async function open(): Promise<void> {
  const before = got.length
  const opened = consumer.subscribe('t', { from: 'earliest', partitions: [0, 1], onRecord: (r) => void got.push(r.offset) })
  sub = opened
  ended = undefined
  void opened.closed.then((reason) => void (sub === opened && (ended = reason ?? null)))
  await sub.ready
  await until(() => got.length > before, { what: 'the first record' })
}
/**
 * Without `reset`, an offset outside the partition's log fails the subscription with OFFSET_OUT_OF_RANGE
 * (docs/client.md, Gaps) — a seek too. Only a seek of partition 1 past its end gets that far: the good call's
 * `seek(0, 0)` supersedes a seek of partition 0 before its answer arrives.
 */
function endsSubscription(name: string, a: unknown, b: unknown): boolean {
  return name === 'seek' && a === 1 && Number.isSafeInteger(b) && (b as number) > broker.partition('t', 1).logEndOffset
}

afterAll(async () => {
  await c.close()
  await broker.close()
})

/** Arbitrary argument shapes, including near-misses of the real ones. */
const arg = fc.oneof(
  fc.anything(),
  fc.integer({ min: -3, max: 4 }),
  fc.constantFrom('earliest', 'latest', 'stored', 'end', 't', '', [0], [1, 1], [0, 9], { partition: 0, offset: 0 }, { stores: [] }, Number.NaN, 2 ** 53),
)
const method = fc.constantFrom('pause', 'resume', 'seek', 'commit', 'process', 'onRecord', 'onGap', 'onError', 'onReady', 'position', 'committed', 'subscribe')

/** Calls the method; returns how it settled ('ok' or the error's constructor name), never hanging. */
async function call(name: string, a: unknown, b: unknown): Promise<string> {
  const s = sub as unknown as Record<string, (...args: unknown[]) => unknown>
  try {
    const out = name === 'subscribe' ? consumer.subscribe(a as never, b as never) : s[name]!.call(sub, a, b)
    if (name === 'subscribe') (out as Subscription).close()
    if (out instanceof Promise) {
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} did not settle`)), 2_000))
      await Promise.race([out, timeout])
    }
    return 'ok'
  } catch (error) {
    if (error instanceof Error && /did not settle/.test(error.message)) throw error
    return (error as Error).constructor.name
  }
}

it('every subscription method settles on random arguments with a TypeError/RangeError or success, and a following good call works', async () => {
  await fc.assert(
    fc.asyncProperty(method, arg, arg, async (name, a, b) => {
      const outcome = await call(name, a, b)
      expect(['ok', 'TypeError', 'RangeError']).toContain(outcome)
      if (endsSubscription(name, a, b)) {
        await until(() => ended !== undefined, { what: `the subscription to end after ${name}(${fc.stringify(a)}, ${fc.stringify(b)})` })
        expect(ended).toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' })
        await open()
      }
      // The good calls: delivery from partition 0 works again from offset 0.
      sub.resume()
      const before = got.length
      sub.seek(0, 0)
      await until(() => got.length > before, { what: `a record after ${name}(${fc.stringify(a)}, ${fc.stringify(b)})` })
      expect(got[got.length - 1]).toBe(0)
      expect(ended).toBeUndefined()
    }),
    { numRuns: 150, examples: [['seek', 1, 3], ['seek', 0, 3], ['pause', undefined, { toString: undefined }]] },
  )
}, 60_000)
