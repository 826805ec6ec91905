import { scanBatches } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { CleanerThrottle } from './cleaner-throttle.js'
import { CLEANING_SUFFIX } from './log-cleaner.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import type { PartitionLog } from './partition-log.js'
import { keyedBatch, readAll, type KeyedEntry } from './testing/keyed-batches.js'
import { ManualClock } from './testing/manual-clock.js'

/** Fails the rename of a cleaned temp file over its segment (the crash point between writing and swapping), or recovery-point writes. */
class RenameFaultStorage extends MemoryLogStorage {
  failCleanRename = false
  override async rename(from: string, to: string): Promise<void> {
    if (this.failCleanRename && from.endsWith(CLEANING_SUFFIX)) throw new Error('injected: crash before the swap')
    return super.rename(from, to)
  }
  /** Fails writes of the recovery point: a crash after a swap and before the next recovery point. */
  failRecoveryPoint = false
  override async writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    if (this.failRecoveryPoint && path.endsWith('recovery-point')) throw new Error('injected: no recovery point')
    return super.writeFileAtomic(path, bytes)
  }
}

const DAY = 86_400_000
const clean = (log: PartitionLog, clock: ManualClock, deleteRetentionMs = DAY) => log.clean({ deleteRetentionMs, indexIntervalBytes: 100, throttle: new CleanerThrottle(clock, Infinity) })

async function setUp(storage = new RenameFaultStorage(), clock = new ManualClock()) {
  const env = makeLogEnv(storage, { segmentBytes: 400, indexIntervalBytes: 100 }, clock)
  const log = await env.open()
  return { storage, clock, env, log }
}

async function appendAll(log: PartitionLog, batches: readonly (readonly KeyedEntry[])[]): Promise<void> {
  for (const b of batches) await log.append(keyedBatch(b))
}

const rounds = (n: number, keys: number, tag: string): KeyedEntry[][] => Array.from({ length: n }, (_, i) => Array.from({ length: keys }, (_, k) => [`k${k}`, `${tag}${i}-${k}`] as const))

describe('log cleaner', () => {
  it('keeps the latest record per key in sealed segments, with its offset, timestamp and headers', async () => {
    const { log, clock } = await setUp()
    await appendAll(log, rounds(12, 3, 'v'))
    const before = await readAll(log)
    const result = await clean(log, clock)
    expect(result.segmentsCleaned).toBeGreaterThan(0)
    const after = await readAll(log)
    // Offsets never change: every record served after is the very record served before at that offset.
    const byOffset = new Map(before.map((r) => [r.offset, r]))
    for (const r of after) expect(r).toEqual(byOffset.get(r.offset))
    // The latest value of each key survives; older values in cleaned segments go.
    const latest = new Map(before.map((r) => [r.key, r]))
    for (const r of latest.values()) expect(after).toContainEqual(r)
    expect(after.length).toBeLessThan(before.length)
    expect(log.logEndOffset).toBe(36)
    await log.close()
  })

  it('never touches the active segment, nor anything above the high watermark', async () => {
    const { log, clock, storage } = await setUp()
    await appendAll(log, rounds(12, 3, 'v'))
    const names = await storage.list('t-0')
    const active = names.filter((n) => n.endsWith('.log')).sort().at(-1)!
    const bytes = await storage.readFile(`t-0/${active}`)
    const activeRecords = (await readAll(log)).filter((r) => r.offset >= Number(active.slice(0, 20)))
    await clean(log, clock)
    expect(await storage.readFile(`t-0/${active}`)).toEqual(bytes)
    const after = await readAll(log)
    for (const r of activeRecords) expect(after).toContainEqual(r)
    await log.close()
  })

  it('keeps a tombstone until delete.retention.ms after the cleaner first reached it, then removes it', async () => {
    const { log, clock } = await setUp()
    await appendAll(log, [[['a', '1'], ['b', '1']], [['a', null]], ...rounds(12, 1, 'filler').map((b) => b.map(([, v]) => ['c', v] as const))])
    await clean(log, clock, 1000)
    expect((await readAll(log)).filter((r) => r.key === 'a')).toEqual([expect.objectContaining({ offset: 2, value: null })])
    clock.advance(999)
    await clean(log, clock, 1000)
    expect((await readAll(log)).filter((r) => r.key === 'a')).toHaveLength(1)
    clock.advance(1)
    await clean(log, clock, 1000)
    expect((await readAll(log)).filter((r) => r.key === 'a')).toEqual([])
    expect((await readAll(log)).filter((r) => r.key === 'b')).toEqual([expect.objectContaining({ offset: 1, value: '1' })])
    await log.close()
  })

  it('after a crash between writing and swapping, the log opens with the same content and no temp file', async () => {
    const { log, clock, storage, env } = await setUp()
    await appendAll(log, rounds(12, 3, 'v'))
    const before = await readAll(log)
    storage.failCleanRename = true
    await expect(clean(log, clock)).rejects.toThrow(/injected/)
    expect((await storage.list('t-0')).some((n) => n.endsWith(CLEANING_SUFFIX))).toBe(true)
    storage.simulatePowerLoss()
    storage.failCleanRename = false
    const reopened = await env.open()
    expect(await readAll(reopened)).toEqual(before)
    expect((await storage.list('t-0')).some((n) => n.endsWith('.tmp'))).toBe(false)
    await reopened.close()
  })

  it('a power loss after a pass keeps the cleaned log, which recovery verifies and indexes', async () => {
    const { log, clock, storage, env } = await setUp()
    await appendAll(log, rounds(12, 3, 'v'))
    await clean(log, clock)
    const cleaned = await readAll(log)
    storage.simulatePowerLoss()
    const reopened = await env.open()
    expect(reopened.recoveryReport).toBeNull()
    expect(await readAll(reopened)).toEqual(cleaned)
    for (const r of cleaned) expect((await reopened.read(r.offset, 1)).records.length).toBeGreaterThan(0)
    await reopened.close()
  })

  it("keeps an idempotent producer's recent batches whole: their resend is answered as a duplicate, never appended", async () => {
    const { log, clock } = await setUp()
    const first = keyedBatch([['p', 'old'], ['q', 'old']], { producerId: 9, baseSequence: 0 })
    const r0 = await log.append(first)
    await appendAll(log, rounds(12, 2, 'v').map((b) => b.map(([k, v]) => [k === 'k0' ? 'p' : 'q', v] as const)))
    await clean(log, clock)
    expect((await readAll(log)).filter((r) => r.offset <= 1)).toHaveLength(2) // the producer's batch stayed whole
    const again = await log.append(first)
    expect(again).toMatchObject({ duplicate: true, baseOffset: r0.baseOffset })
    await log.close()
  })

  it('a recovery point that marked a segment while it was shorter than its cleaned form is gone before the swap', async () => {
    const storage = new RenameFaultStorage()
    const clock = new ManualClock()
    let log = await makeLogEnv(storage, { segmentBytes: 146, indexIntervalBytes: 64 }, clock).open()
    const tombstone = () => log.append(keyedBatch([['a', null]], { timestampMs: clock.nowMs() }))
    await tombstone()
    storage.simulatePowerLoss() // the open writes a recovery point marking the 73 bytes of segment 0 (then the last one)
    log = await makeLogEnv(storage, { segmentBytes: 146, indexIntervalBytes: 64 }, clock).open()
    for (let i = 0; i < 8; i++) await tombstone()
    storage.failRecoveryPoint = true
    await clean(log, clock) // segment 0 becomes two empty batches: 122 bytes, longer than the 73 marked
    storage.failRecoveryPoint = false
    const cleaned = await readAll(log)
    storage.simulatePowerLoss()
    const reopened = await makeLogEnv(storage, { segmentBytes: 146, indexIntervalBytes: 64 }, clock).open()
    expect(await readAll(reopened)).toEqual(cleaned)
    await reopened.close()
  })

  it('a follower copies a cleaned leader log (sparse and empty batches) byte for byte, and reopens it', async () => {
    const { log, clock } = await setUp()
    await appendAll(log, rounds(12, 3, 'v'))
    await log.append(keyedBatch([['gone', null]]))
    await appendAll(log, rounds(6, 3, 'w'))
    await clean(log, clock, 0)
    const served = await readAll(log)
    const leaderBytes: Uint8Array[] = []
    for (let at = 0; at < log.highWatermark; ) {
      const bytes = await log.readForReplica(at, 1 << 20)
      leaderBytes.push(bytes)
      for (const b of scanBatches(bytes)) at = b.header.baseOffset + b.header.lastOffsetDelta + 1
    }
    const storage = new MemoryLogStorage()
    const followerEnv = makeLogEnv(storage, { segmentBytes: 400, indexIntervalBytes: 100 }, clock)
    const follower = await followerEnv.open({})
    for (const bytes of leaderBytes) await follower.appendAsFollower(bytes)
    expect(follower.logEndOffset).toBe(log.logEndOffset)
    expect(await readAll(follower)).toEqual(served)
    storage.simulatePowerLoss()
    const reopened = await followerEnv.open({})
    expect(await readAll(reopened)).toEqual(served)
    await reopened.close()
    await log.close()
  })
})
