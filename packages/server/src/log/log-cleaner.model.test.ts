import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CleanerThrottle } from './cleaner-throttle.js'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import type { PartitionLog } from './partition-log.js'
import { keyedBatch, readAll, type KeyedEntry, type ReadRecord } from './testing/keyed-batches.js'
import { ManualClock } from './testing/manual-clock.js'

/** Runs (seeds) per property: 100 in the unit suite; `npm run test:compaction-model` runs 1000 (or SAMSA_COMPACTION_RUNS). */
const RUNS = Number(process.env.SAMSA_COMPACTION_RUNS ?? 100)
const RETENTION_MS = 5000

type Op =
  | { kind: 'append'; entries: KeyedEntry[] }
  | { kind: 'clean' }
  | { kind: 'advance'; ms: number }
  | { kind: 'reopen' }
  | { kind: 'powerLoss' }

const entry: fc.Arbitrary<KeyedEntry> = fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.option(fc.string({ maxLength: 30 }), { freq: 5, nil: null }))
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), entries: fc.array(entry, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'clean' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'powerLoss' as const }) },
)

/** The map a consumer builds by reading the whole log: the last value per key, a tombstone deleting the key. */
function table(records: readonly ReadRecord[]): Map<string, string> {
  const m = new Map<string, string>()
  for (const r of records) {
    if (r.value === null) m.delete(r.key)
    else m.set(r.key, r.value)
  }
  return m
}

describe('log cleaner model: a compacted log reads as the same key → value map', () => {
  it('random appends, cleans, clock advances, reopens and power losses', async () => {
    let removed = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), fc.integer({ min: 100, max: 400 }), async (ops, segmentBytes) => {
        const clock = new ManualClock()
        const mem = new MemoryLogStorage()
        const env = makeLogEnv(mem, { segmentBytes, indexIntervalBytes: 64 }, clock)
        let log: PartitionLog = await env.open()
        const model = new Map<string, string>()
        /** Every record appended, by offset: what the log may serve at that offset (or nothing, once cleaned). */
        const appended = new Map<number, ReadRecord>()
        try {
          for (const o of ops) {
            if (o.kind === 'append') {
              const at = clock.nowMs()
              const r = await log.append(keyedBatch(o.entries, { timestampMs: at }))
              o.entries.forEach(([key, value], i) => {
                appended.set(r.baseOffset + i, { offset: r.baseOffset + i, key, value, timestamp: at + i, header: key })
                if (value === null) model.delete(key)
                else model.set(key, value)
              })
            } else if (o.kind === 'clean') {
              removed += (await log.clean({ deleteRetentionMs: RETENTION_MS, indexIntervalBytes: 64, throttle: new CleanerThrottle(clock, Infinity) })).recordsRemoved
            } else if (o.kind === 'advance') {
              clock.advance(o.ms)
            } else {
              if (o.kind === 'reopen') await log.close()
              else mem.simulatePowerLoss()
              log = await env.open()
              expect(log.recoveryReport).toBeNull()
            }
            const served = await readAll(log)
            // Offsets never change: whatever is served at an offset is what was appended there.
            for (const r of served) expect(r).toEqual(appended.get(r.offset))
            expect(log.logEndOffset).toBe(appended.size)
            // The latest record of every key is still there, unless it is a tombstone (which may expire).
            const latest = new Map([...appended.values()].map((r) => [r.key, r]))
            for (const r of latest.values()) if (r.value !== null) expect(served).toContainEqual(r)
            expect(table(served)).toEqual(model)
          }
        } finally {
          await log.close()
        }
      }),
      { numRuns: RUNS },
    )
    // The runs exercised the cleaner: it removed records (values overwritten, tombstones expired) many times.
    expect(removed).toBeGreaterThan(RUNS * 5
    )
  })
})
