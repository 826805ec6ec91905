import { describe, expect, it } from 'vitest'
import { Broker } from './broker.js'
import { brokerConfig } from './broker-config.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { recordsOf, testBatch } from '../log/testing/batches.js'

async function setup() {
  const clock = new ManualClock()
  const broker = await Broker.start(brokerConfig(), { storage: new MemoryLogStorage(), clock, logger: silentLogger })
  await broker.createTopic('t', 1)
  const produce = (tag: string) => broker.produce({ topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch: testBatch({ tag, valueBytes: 200 }) })
  const fetch = (offset: number, minBytes: number, maxWaitMs = 10_000) => {
    let settled = false
    const p = broker.fetch({ topic: 't', partition: 0, offset, maxBytes: 1 << 20, maxWaitMs, minBytes }).finally(() => (settled = true))
    return { p, settled: () => settled }
  }
  /** Lets every pending promise callback run (memory storage and the manual clock do no real I/O). */
  const drain = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  }
  return { clock, broker, produce, fetch, drain }
}

const BATCH_BYTES = testBatch({ tag: 'a', valueBytes: 200 }).length

describe('fetch honours minBytes', () => {
  it('at the log end, waits until minBytes are readable, then answers with them all', async () => {
    const { produce, fetch, drain } = await setup()
    const f = fetch(0, BATCH_BYTES * 2 + 1)
    await produce('a')
    await produce('b')
    await drain()
    expect(f.settled()).toBe(false)
    await produce('c')
    const r = await f.p
    expect(recordsOf(r.records).map((x) => x.value.slice(0, 3))).toEqual(['a-0', 'b-0', 'c-0'])
  })

  it('below the high watermark with fewer than minBytes readable, waits for more instead of answering at once', async () => {
    const { produce, fetch, drain } = await setup()
    await produce('a')
    const f = fetch(0, BATCH_BYTES + 1)
    await drain()
    expect(f.settled()).toBe(false)
    await produce('b')
    expect(recordsOf((await f.p).records)).toHaveLength(2)
  })

  it('answers with what there is once maxWaitMs passes', async () => {
    const { clock, produce, fetch, drain } = await setup()
    await produce('a')
    const f = fetch(0, 1 << 16, 500)
    await drain()
    expect(f.settled()).toBe(false)
    clock.advance(500)
    expect(recordsOf((await f.p).records)).toHaveLength(1)
  })

  it('minBytes 0 answers at once, even at the log end with maxWaitMs', async () => {
    const { fetch, drain } = await setup()
    const f = fetch(0, 0, 10_000)
    await drain()
    expect(f.settled()).toBe(true)
    expect((await f.p).records).toHaveLength(0)
  })

  it('minBytes 1 answers at once when a batch is readable, and at the log end as soon as one arrives', async () => {
    const { produce, fetch, drain } = await setup()
    const tail = fetch(0, 1)
    await drain()
    expect(tail.settled()).toBe(false)
    await produce('a')
    expect(recordsOf((await tail.p).records)).toHaveLength(1)
    const f = fetch(0, 1)
    await drain()
    expect(f.settled()).toBe(true)
  })
})
