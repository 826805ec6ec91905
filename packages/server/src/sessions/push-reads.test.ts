/**
 * PushReads: subscriptions of many connections at one position of a partition share one read of the log and the
 * same push frame bytes, while each keeps its own credit limit, order and positions.
 */
import { decodePush, MAX_PROTOCOL_VERSION, PUSH_RECORDS_OVERHEAD, scanBatches, type Push } from '@samsa/shared'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Broker } from '../broker/broker.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from '../log/partition-log.js'
import { testBatch } from '../log/testing/batches.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { ANONYMOUS } from '../security/principal.js'
import { until } from '../../../../test/support/until.js'
import { PushReads, PushReadsRegistry, type PreparedPush } from './push-reads.js'
import { SubscriptionTable } from './subscription-table.js'

const limits = { maxSubscriptionsPerConnection: 10, maxPushBytes: 1 << 20, maxCreditBytes: 1 << 20 }
const logs: PartitionLog[] = []

/** A log holding offsets 0..3 (one record per batch) whose high watermark is `highWatermark`. */
async function logOfFour(highWatermark: number): Promise<PartitionLog> {
  const log = await PartitionLog.open({
    storage: new MemoryLogStorage(), dir: 't-0', clock: new ManualClock(), logger: silentLogger, leaderEpoch: 1,
    config: { ...defaultPartitionLogConfig, retentionMs: null }, highWatermark: 'set-by-partition',
  })
  logs.push(log)
  for (let i = 0; i < 4; i++) await log.append(testBatch({ records: 1, tag: `r${i}` }))
  log.advanceHighWatermark(highWatermark)
  return log
}

/** One connection's table over `log` (all tables of a test share `pushReads`, as a broker's connections do). */
function connection(log: PartitionLog, pushReads: PushReadsRegistry, frames: Uint8Array[], recordsOut: number[] = []): SubscriptionTable {
  const broker = { limits, pushReads, partition: () => log, metrics: { recordsOut: (_topic: string, records: number) => recordsOut.push(records) }, onTopicDeleted: () => () => {}, onResigned: () => () => {}, access: { onGrantsChanged: () => () => {} } } as unknown as Broker
  return new SubscriptionTable(broker, { version: MAX_PROTOCOL_VERSION, principal: ANONYMOUS, peerNodeId: 0, send: (f) => frames.push(f), tryReserveOutput: () => true, releaseOutput() {} })
}

/** PushReads.read as a promise. */
const readOf = (reads: PushReads, offset: number, maxBytes: number) =>
  new Promise<PreparedPush | null>((resolve, reject) => reads.read(offset, maxBytes, (push, err) => (err === undefined ? resolve(push) : reject(err))))

const offsetsOf = (frames: readonly Uint8Array[]) => frames.map(decodePush).flatMap((p: Push) => (p.kind === 'records' ? [...scanBatches(p.records)].map((b) => b.header.baseOffset) : []))

afterEach(async () => {
  for (const l of logs.splice(0)) await l.close()
})

describe('PushReads through subscriptions', () => {
  it('subscriptions of several connections at one position share one read, and those with the same id the same frame bytes', async () => {
    const log = await logOfFour(1)
    const registry = new PushReadsRegistry()
    const a: Uint8Array[] = []
    const b: Uint8Array[] = []
    const c: Uint8Array[] = []
    const recordsOut: number[] = []
    const tables = [connection(log, registry, a, recordsOut), connection(log, registry, b, recordsOut), connection(log, registry, c, recordsOut)]
    tables[0]!.subscribe({ topic: 't', partition: 0, offset: 1, creditBytes: 1 << 16 })
    tables[1]!.subscribe({ topic: 't', partition: 0, offset: 1, creditBytes: 1 << 16 })
    tables[2]!.unsubscribe(tables[2]!.subscribe({ topic: 't', partition: 0, offset: 0, creditBytes: 1 << 16 }).subscriptionId)
    expect(tables[2]!.subscribe({ topic: 't', partition: 0, offset: 1, creditBytes: 1 << 16 }).subscriptionId).toBe(2)
    await Promise.resolve() // each table pumps a new subscription on the next turn: nothing is readable yet
    const read = vi.spyOn(log, 'read')
    log.advanceHighWatermark(4)
    await until(() => a.length > 0 && b.length > 0 && c.length > 0, { what: 'a push on every connection' })
    expect(read).toHaveBeenCalledTimes(1)
    expect(a[0]).toBe(b[0]) // the very same bytes handed to both sockets
    expect(decodePush(a[0]!)).toMatchObject({ kind: 'records', subscriptionId: 1, highWatermark: 4 })
    expect(decodePush(c[0]!)).toMatchObject({ kind: 'records', subscriptionId: 2, highWatermark: 4 })
    for (const frames of [a, b, c]) expect(offsetsOf(frames)).toEqual([1, 2, 3])
    await until(() => recordsOut.length > 0, { what: 'the records-out metric' })
    expect(recordsOut).toEqual([9]) // the three deliveries of one read, reported once
    for (const t of tables) t.closeAll()
  })

  it('a subscription joining a larger read gets only what its credit allows, then nothing until granted more', async () => {
    const log = await logOfFour(1)
    const batchBytes = (await log.read(0, 1)).records.length
    const registry = new PushReadsRegistry()
    const big: Uint8Array[] = []
    const small: Uint8Array[] = []
    const tables = [connection(log, registry, big), connection(log, registry, small)]
    tables[0]!.subscribe({ topic: 't', partition: 0, offset: 1, creditBytes: 1 << 16 })
    const { subscriptionId } = tables[1]!.subscribe({ topic: 't', partition: 0, offset: 1, creditBytes: PUSH_RECORDS_OVERHEAD + batchBytes })
    await Promise.resolve()
    log.advanceHighWatermark(4)
    await until(() => offsetsOf(big).length === 3 && small.length > 0, { what: 'the pushes of both' })
    expect(offsetsOf(big)).toEqual([1, 2, 3])
    expect(offsetsOf(small)).toEqual([1])
    tables[1]!.credit(subscriptionId, 1 << 16)
    await until(() => offsetsOf(small).length === 3, { what: 'the rest once credit is granted' })
    expect(offsetsOf(small)).toEqual([1, 2, 3])
    for (const t of tables) t.closeAll()
  })
})

describe('PushReads', () => {
  it('gives a caller allowed fewer bytes the leading whole batches a read of its own would give', async () => {
    const log = await logOfFour(4)
    const batchBytes = (await log.read(0, 1)).records.length
    const reads = new PushReads(log)
    const read = vi.spyOn(log, 'read')
    const [all, one, two] = await Promise.all([readOf(reads, 0, 1 << 20), readOf(reads, 0, batchBytes), readOf(reads, 0, 2 * batchBytes + 1)])
    expect(read).toHaveBeenCalledTimes(1)
    expect(all?.nextOffset).toBe(4)
    expect(one?.nextOffset).toBe(1)
    expect(two?.nextOffset).toBe(2)
    expect(one?.bytes).toEqual((await log.read(0, batchBytes)).records)
    expect(two?.bytes).toEqual((await log.read(0, 2 * batchBytes + 1)).records)
    expect(two?.records).toBe(2)
  })

  it('does not share a read across a change of the high watermark, nor between offsets, nor once it has settled', async () => {
    const log = await logOfFour(1)
    const reads = new PushReads(log)
    const read = vi.spyOn(log, 'read')
    const before = readOf(reads, 0, 1 << 20)
    log.advanceHighWatermark(4)
    const after = readOf(reads, 0, 1 << 20)
    const elsewhere = readOf(reads, 2, 1 << 20)
    expect((await before)?.nextOffset).toBe(1)
    expect((await after)?.nextOffset).toBe(4)
    expect((await elsewhere)?.nextOffset).toBe(4)
    expect((await readOf(reads, 0, 1 << 20))?.nextOffset).toBe(4)
    expect(read).toHaveBeenCalledTimes(4)
  })

  it('returns null where nothing is readable (at the high watermark)', async () => {
    const log = await logOfFour(2)
    expect(await readOf(new PushReads(log), 2, 1 << 20)).toBeNull()
  })

  it('gives every caller sharing a failed read the error, once, after read() returned', async () => {
    const log = await logOfFour(4)
    const reads = new PushReads(log)
    vi.spyOn(log, 'read').mockRejectedValueOnce(new Error('disk on fire'))
    const calls: string[] = []
    for (const name of ['a', 'b']) reads.read(0, 1 << 20, (push, err) => calls.push(`${name}: ${push === null ? 'null' : 'push'}, ${String(err)}`))
    expect(calls).toEqual([])
    await until(() => calls.length === 2, { what: 'both callbacks' })
    expect(calls).toEqual(['a: null, Error: disk on fire', 'b: null, Error: disk on fire'])
  })
})
