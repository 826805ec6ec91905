import { readBatchHeader, type RecordInput } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import type { Connection } from '../connection/connection.js'
import { silentLogger, type Clock } from '../ports.js'
import { ManualClock } from '../testing/manual-clock.js'
import { PartitionSender } from './partition-sender.js'
import { RecordAccumulator } from './record-accumulator.js'

const te = new TextEncoder()
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

/** The accumulator wired to a sender the way the Producer wires them, against a broker whose answers the test releases. */
function pipeline(lingerMs: number, maxInFlight: number) {
  const requests: { baseSequence: number; count: number; answer: () => void }[] = []
  let nextOffset = 0
  const conn = {
    request(_ex: unknown, req: { batch: Uint8Array }) {
      const h = readBatchHeader(req.batch)
      return new Promise((resolve) => {
        requests.push({
          baseSequence: h.baseSequence,
          count: h.recordCount,
          answer: () => {
            resolve({ baseOffset: nextOffset, logAppendTimeMs: 0, logStartOffset: 0, duplicate: false })
            nextOffset += h.recordCount
          },
        })
      })
    },
  } as unknown as Connection
  // Time moves only when the test advances it; lingerMs 0 still runs on the next task (setImmediate), as in the Producer.
  const time = new ManualClock()
  const clock: Clock = { now: () => time.now(), setTimeout: (fn, ms) => time.setTimeout(fn, ms), clearTimeout: (t) => time.clearTimeout(t), setImmediate: (fn) => void setImmediate(fn) }
  let sender: PartitionSender | null = null
  const acc = new RecordAccumulator({ lingerMs, clock, onReady: (b) => sender!.enqueue(b), canSend: () => sender!.canSend })
  sender = new PartitionSender('t', 0, {
    route: () => Promise.resolve({ conn, leader: null }),
    clock,
    random: () => 0.5,
    logger: silentLogger,
    acks: -1,
    timeoutMs: 1000,
    maxInFlight,
    maxRetries: 2,
    retryBackoff: { baseMs: 1, capMs: 1 },
    identity: { producerId: 7, producerEpoch: 0 },
    onStaleMetadata: () => {},
    onCapacity: () => acc.sendReady('t', 0),
  })
  const offsets: Promise<number>[] = []
  const append = (value: string) => {
    const record: RecordInput = { key: null, value: te.encode(value), headers: [], timestamp: time.now() }
    offsets.push(new Promise<number>((resolve, reject) => acc.append('t', 0, record, { resolve, reject }, 1 << 20)))
  }
  return { requests, acc, append, offsets, time }
}

describe('producer batching (accumulator + sender)', () => {
  it('with lingerMs 0, records that arrive while every in-flight slot is taken gather into one batch, sent when a slot frees up', async () => {
    const { requests, acc, append, offsets } = pipeline(0, 2)
    append('r0')
    await tick()
    expect(requests.map((r) => r.count)).toEqual([1])
    append('r1')
    await tick()
    expect(requests.map((r) => r.count)).toEqual([1, 1])
    // Both slots taken: eight separate "send() calls" (one task each) stay in one open batch.
    for (let i = 2; i < 10; i++) {
      append(`r${i}`)
      await tick()
    }
    expect(requests).toHaveLength(2)
    expect(acc.openBatches).toBe(1)
    requests[0]!.answer()
    await tick()
    // The freed slot takes the whole open batch, sequenced when it is closed for sending.
    expect(requests.map((r) => [r.baseSequence, r.count])).toEqual([
      [0, 1],
      [1, 1],
      [2, 8],
    ])
    expect(acc.openBatches).toBe(0)
    requests[1]!.answer()
    requests[2]!.answer()
    expect(await Promise.all(offsets)).toEqual(Array.from({ length: 10 }, (_, i) => i))
  })

  it('with a free slot, a batch is sent lingerMs after it opened, not earlier', async () => {
    const { requests, append, offsets, time } = pipeline(20, 5)
    append('a')
    await tick()
    time.advance(5)
    append('b')
    await tick()
    time.advance(14)
    await tick()
    expect(requests, '19 ms after the batch opened').toHaveLength(0)
    time.advance(1)
    await tick()
    expect(requests.map((r) => r.count), '20 ms after the batch opened: both records in one batch').toEqual([2])
    requests[0]!.answer()
    expect(await Promise.all(offsets)).toEqual([0, 1])
  })
})
