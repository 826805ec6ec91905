/** @module PartitionLog behaviour suite, run on every LogStorage implementation (memory here, files in adapters/node). */
import { SamsaError, scanBatches } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../clock.js'
import type { LogStorage } from './log-storage.js'
import { defaultPartitionLogConfig, PartitionLog, type PartitionLogConfig } from './partition-log.js'
import { batchBasesOf, recordsOf, testBatch } from './testing/batches.js'
import { InstrumentedStorage } from './testing/instrumented-storage.js'
import { ManualClock } from './testing/manual-clock.js'

export interface LogEnv {
  readonly storage: LogStorage
  readonly clock: ManualClock
  readonly config: PartitionLogConfig
  open(overrides?: Partial<PartitionLogConfig>): Promise<PartitionLog>
}

export function makeLogEnv(storage: LogStorage, config: Partial<PartitionLogConfig> = {}, clock = new ManualClock()): LogEnv {
  const full = { ...defaultPartitionLogConfig, retentionMs: null, ...config }
  return {
    storage,
    clock,
    config: full,
    open: (overrides = {}) => PartitionLog.open({ storage, dir: 't-0', config: { ...full, ...overrides }, clock, logger: silentLogger, leaderEpoch: 3 }),
  }
}

export async function expectSamsaError(p: Promise<unknown>, name: string, details?: object): Promise<SamsaError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  )
  expect(e, `expected ${name}`).toBeInstanceOf(SamsaError)
  expect((e as SamsaError).errorName).toBe(name)
  if (details) expect((e as SamsaError).details).toMatchObject(details)
  return e as SamsaError
}

export function partitionLogSuite(name: string, makeStorage: () => Promise<LogStorage>): void {
  describe(`PartitionLog on ${name}`, () => {
    const opened: PartitionLog[] = []
    async function env(config: Partial<PartitionLogConfig> = {}) {
      const inner = await makeStorage()
      const storage = new InstrumentedStorage(inner)
      const e = makeLogEnv(storage, config)
      const open = async (o: Partial<PartitionLogConfig> = {}) => {
        const log = await e.open(o)
        opened.push(log)
        return log
      }
      return { ...e, storage, inner, open }
    }
    afterEach(async () => {
      for (const l of opened.splice(0)) await l.close().catch(() => {})
    })

    it('appends and reads back across many segments, from any offset', async () => {
      const e = await env({ segmentBytes: 400, indexIntervalBytes: 100 })
      const log = await e.open()
      const sent: { base: number; n: number }[] = []
      for (let i = 0; i < 40; i++) {
        const n = 1 + (i % 3)
        const r = await log.append(testBatch({ records: n, tag: `b${i}` }))
        expect(r).toMatchObject({ baseOffset: sent.reduce((s, b) => s + b.n, 0), lastOffset: r.baseOffset + n - 1, duplicate: false, logStartOffset: 0 })
        sent.push({ base: r.baseOffset, n })
      }
      const total = sent.reduce((s, b) => s + b.n, 0)
      expect(total).toBe(79)
      expect(log.logEndOffset).toBe(79)
      expect(log.highWatermark).toBe(79)
      expect((await e.inner.list('t-0')).filter((n) => n.endsWith('.log')).length).toBeGreaterThan(5)
      for (let offset = 0; offset < 79; offset++) {
        const { records, highWatermark } = await log.read(offset, 1)
        expect(highWatermark).toBe(79)
        const bases = batchBasesOf(records)
        expect(bases).toHaveLength(1)
        const b = sent.find((s) => s.base === bases[0])!
        expect(offset >= b.base && offset < b.base + b.n).toBe(true)
      }
      const all: { offset: number; value: string }[] = []
      for (let next = 0; next < 79; ) {
        const { records } = await log.read(next, 10_000)
        const rs = recordsOf(records)
        expect(rs.length).toBeGreaterThan(0)
        all.push(...rs)
        next = rs.at(-1)!.offset + 1
      }
      expect(all.map((r) => r.offset)).toEqual([...Array(79).keys()])
      expect(all[0]!.value).toBe('b0-0')
      expect((await log.read(79, 100)).records.length).toBe(0)
    })

    it('stops before maxBytes but always returns the first batch whole', async () => {
      const e = await env()
      const log = await e.open()
      for (let i = 0; i < 5; i++) await log.append(testBatch({ valueBytes: 100 }))
      const one = (await log.read(0, 1)).records
      expect(batchBasesOf(one)).toEqual([0])
      const size = one.length
      expect(batchBasesOf((await log.read(1, size * 2)).records)).toEqual([1, 2])
      expect(batchBasesOf((await log.read(1, size * 2 - 1)).records)).toEqual([1])
    })

    it('patches the leader epoch and offsets into the stored batch', async () => {
      const e = await env()
      const log = await e.open()
      await log.append(testBatch({ records: 2 }))
      await log.append(testBatch())
      const { records } = await log.read(0, 1 << 20)
      expect([...scanBatches(records)].map((b) => [b.header.baseOffset, b.header.partitionLeaderEpoch])).toEqual([[0, 3], [2, 3]])
      expect(log.leaderEpoch).toBe(3)
    })

    it('rejects reads outside [logStartOffset, highWatermark] with OFFSET_OUT_OF_RANGE and the range', async () => {
      const e = await env()
      const log = await e.open()
      await log.append(testBatch({ records: 3 }))
      for (const bad of [-1, 4, 1e9, Number.NaN, 2 ** 60]) {
        const err = await expectSamsaError(log.read(bad, 100), 'OFFSET_OUT_OF_RANGE', { logStartOffset: 0, logEndOffset: 3 })
        expect(err.message).toMatch(/\[0, 3\]/)
      }
    })

    it('answers a duplicate resend with the original offsets and writes nothing', async () => {
      const e = await env()
      const log = await e.open()
      const first = await log.append(testBatch({ producerId: 9, baseSequence: 0, records: 2 }))
      await log.append(testBatch({ producerId: 9, baseSequence: 2 }))
      const bytesBefore = (await log.read(0, 1 << 20)).records.length
      const again = await log.append(testBatch({ producerId: 9, baseSequence: 0, records: 2 }))
      expect(again).toMatchObject({ baseOffset: first.baseOffset, lastOffset: first.lastOffset, duplicate: true })
      expect(log.logEndOffset).toBe(3)
      expect((await log.read(0, 1 << 20)).records.length).toBe(bytesBefore)
    })

    it('rejects a sequence gap and a stale epoch without writing', async () => {
      const e = await env()
      const log = await e.open()
      await log.append(testBatch({ producerId: 9, producerEpoch: 2, baseSequence: 0 }))
      await expectSamsaError(log.append(testBatch({ producerId: 9, producerEpoch: 2, baseSequence: 5 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 1, receivedSequence: 5 })
      await expectSamsaError(log.append(testBatch({ producerId: 9, producerEpoch: 1, baseSequence: 1 })), 'INVALID_PRODUCER_EPOCH')
      expect(log.logEndOffset).toBe(1)
      expect((await log.append(testBatch({ producerId: 9, producerEpoch: 2, baseSequence: 1 }))).baseOffset).toBe(1)
    })

    it('keeps dedupe state across close and reopen', async () => {
      const e = await env({ segmentBytes: 300 })
      let log = await e.open()
      for (let s = 0; s < 6; s++) await log.append(testBatch({ producerId: 4, baseSequence: s }))
      await log.close()
      log = await e.open()
      expect(log.logEndOffset).toBe(6)
      expect(await log.append(testBatch({ producerId: 4, baseSequence: 3 }))).toMatchObject({ baseOffset: 3, duplicate: true })
      await expectSamsaError(log.append(testBatch({ producerId: 4, baseSequence: 9 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 6 })
      expect(await log.append(testBatch({ producerId: 4, baseSequence: 6 }))).toMatchObject({ baseOffset: 6, duplicate: false })
    })

    it('group commit: 100 concurrent appends take far fewer than 100 fsyncs, offsets in call order', async () => {
      const e = await env()
      const log = await e.open()
      const before = e.storage.syncs
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(testBatch({ tag: `c${i}` }))))
      expect(results.map((r) => r.baseOffset)).toEqual([...Array(100).keys()])
      expect(e.storage.syncs - before).toBeLessThan(10)
      expect(log.highWatermark).toBe(100)
      expect(recordsOf((await log.read(42, 1)).records)[0]!.value).toBe('c42-0')
    })

    it('group commit adds no wait at a low rate: a lone append starts its fsync at once; one arriving during it gets the next', async () => {
      const e = await env()
      const log = await e.open()
      const before = e.storage.syncs
      const release = e.storage.holdSyncs()
      const first = log.append(testBatch({ tag: 'a' }))
      await until(() => e.storage.syncs === before + 1) // started with no other append, timer or waiter
      const second = log.append(testBatch({ tag: 'b' }))
      await until(() => log.logEndOffset === 2)
      expect(e.storage.syncs).toBe(before + 1) // written, waiting for the fsync after the running one
      release()
      expect((await first).baseOffset).toBe(0)
      expect((await second).baseOffset).toBe(1)
      expect(e.storage.syncs).toBe(before + 2)
      expect(log.highWatermark).toBe(2)
    })

    it("under 'always' the high watermark moves only after the fsync, then listeners fire", async () => {
      const e = await env()
      const log = await e.open()
      const seen: number[] = []
      const off = log.onHighWatermark((hw) => seen.push(hw))
      const release = e.storage.holdSyncs()
      let acked = false
      const p = log.append(testBatch({ records: 2 })).then((r) => ((acked = true), r))
      await until(() => log.logEndOffset === 2)
      expect(log.highWatermark).toBe(0)
      expect(acked).toBe(false)
      expect((await log.read(0, 100)).records.length).toBe(0)
      release()
      await p
      expect(log.highWatermark).toBe(2)
      expect(seen).toEqual([2])
      off()
      await log.append(testBatch())
      expect(seen).toEqual([2])
    })

    it('retention by time deletes old whole segments and advances logStartOffset, which survives reopen', async () => {
      const e = await env({ segmentBytes: 100, retentionMs: 60_000 })
      let log = await e.open()
      const t0 = e.clock.nowMs()
      for (let i = 0; i < 6; i++) await log.append(testBatch({ timestampMs: t0 + i * 10_000 }))
      const segs = async () => (await e.inner.list('t-0')).filter((n) => n.endsWith('.log')).length
      const n0 = await segs()
      expect(n0).toBeGreaterThan(2)
      expect(await log.applyRetention()).toBe(0)
      e.clock.advance(60_000 + 15_000)
      const deleted = await log.applyRetention()
      expect(deleted).toBeGreaterThan(0)
      expect(await segs()).toBe(n0 - deleted)
      const start = log.logStartOffset
      expect(start).toBeGreaterThan(0)
      expect(log.logEndOffset).toBe(6)
      await expectSamsaError(log.read(start - 1, 100), 'OFFSET_OUT_OF_RANGE', { logStartOffset: start, logEndOffset: 6 })
      expect(batchBasesOf((await log.read(start, 1)).records)).toEqual([start])
      e.clock.advance(1e9)
      await log.applyRetention()
      expect(await segs()).toBe(1) // never the active segment
      const end = log.logStartOffset
      await log.close()
      log = await e.open()
      expect(log.logStartOffset).toBe(end)
      expect(log.logEndOffset).toBe(6)
      expect((await log.append(testBatch())).baseOffset).toBe(6)
    })

    it('retention by bytes keeps the partition near retentionBytes', async () => {
      const e = await env({ segmentBytes: 250, retentionBytes: 600 })
      const log = await e.open()
      for (let i = 0; i < 12; i++) await log.append(testBatch())
      expect(await log.applyRetention()).toBeGreaterThan(0)
      const files = (await e.inner.list('t-0')).filter((n) => n.endsWith('.log'))
      expect(files.length).toBeGreaterThanOrEqual(2)
      expect(log.logStartOffset).toBe(Number(files[0]!.slice(0, 20)))
      expect((await log.read(log.logStartOffset, 1 << 20)).records.length).toBeGreaterThan(0)
    })

    it('offsetForTimestamp finds the first record at or after a time', async () => {
      const e = await env({ segmentBytes: 300 })
      const log = await e.open()
      for (let i = 0; i < 6; i++) await log.append(testBatch({ records: 3, timestampMs: 1000 + i * 100 }))
      expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 })
      expect(await log.offsetForTimestamp(1101)).toEqual({ offset: 4, timestamp: 1101 })
      expect(await log.offsetForTimestamp(1103)).toEqual({ offset: 6, timestamp: 1200 })
      expect(await log.offsetForTimestamp(1502)).toEqual({ offset: 17, timestamp: 1502 })
      expect(await log.offsetForTimestamp(1503)).toBeNull()
    })

    it("'interval' acknowledges after the write and fsyncs on the clock; 'never' leaves it to the OS", async () => {
      const e = await env({ fsync: 'interval', fsyncIntervalMs: 500 })
      const log = await e.open()
      const before = e.storage.syncs
      await log.append(testBatch())
      await log.append(testBatch())
      expect(log.highWatermark).toBe(2)
      expect(e.storage.syncs).toBe(before)
      e.clock.advance(500)
      await until(() => e.storage.syncs === before + 1)
      await log.close()
      const n = await env({ fsync: 'never' })
      const log2 = await n.open()
      const b2 = n.storage.syncs
      expect((await log2.append(testBatch())).baseOffset).toBe(0)
      expect(log2.highWatermark).toBe(1)
      expect(n.storage.syncs).toBe(b2)
    })

    it('delete() removes the partition directory', async () => {
      const e = await env()
      const log = await e.open()
      await log.append(testBatch())
      await log.delete()
      expect(await e.inner.exists('t-0')).toBe(false)
      await expect(log.append(testBatch())).rejects.toThrow(/closed/)
    })
  })
}

/** Waits for a condition on real I/O, bounded by a deadline (no fixed sleeps). */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline')
    await new Promise((r) => setImmediate(r))
  }
}
