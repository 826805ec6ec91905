import fc from 'fast-check'
import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { MemoryLogStorage } from './memory-log-storage.js'
import { makeLogEnv } from './partition-log.contract.js'
import type { PartitionLog } from './partition-log.js'
import { batchBasesOf, recordsOf, testBatch } from './testing/batches.js'

type Op =
  | { kind: 'append'; records: number; valueBytes: number }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'reopen' }
  | { kind: 'powerLoss' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), records: fc.integer({ min: 1, max: 4 }), valueBytes: fc.integer({ min: 0, max: 120 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.integer({ min: -2, max: 60 }), maxBytes: fc.integer({ min: 0, max: 1000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'powerLoss' as const }) },
)

describe('PartitionLog model: behaves like an array of batches', () => {
  it('random appends, reads, reopens and power losses (fsync always)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.integer({ min: 150, max: 800 }), async (ops, segmentBytes) => {
        const mem = new MemoryLogStorage()
        const env = makeLogEnv(mem, { segmentBytes, indexIntervalBytes: 100 })
        let log: PartitionLog = await env.open()
        /** The model: every acknowledged batch, in order: its base offset, record count and values. */
        const model: { base: number; values: string[] }[] = []
        const end = () => (model.at(-1) ? model.at(-1)!.base + model.at(-1)!.values.length : 0)
        let n = 0
        for (const o of ops) {
          if (o.kind === 'append') {
            const tag = `m${n++}`
            const r = await log.append(testBatch({ records: o.records, valueBytes: o.valueBytes, tag }))
            expect(r.baseOffset).toBe(end())
            model.push({ base: r.baseOffset, values: Array.from({ length: o.records }, (_, i) => `${tag}-${i}${'x'.repeat(o.valueBytes)}`) })
          } else if (o.kind === 'read') {
            if (o.at < 0 || o.at > end()) {
              const e = await log.read(o.at, o.maxBytes).catch((x: unknown) => x)
              expect(e).toBeInstanceOf(SamsaError)
              expect((e as SamsaError).errorName).toBe('OFFSET_OUT_OF_RANGE')
              continue
            }
            const { records, highWatermark } = await log.read(o.at, o.maxBytes)
            expect(highWatermark).toBe(end())
            if (o.at === end()) {
              expect(records.length).toBe(0)
              continue
            }
            const bases = batchBasesOf(records)
            const first = model.findIndex((b) => o.at >= b.base && o.at < b.base + b.values.length)
            expect(bases[0]).toBe(model[first]!.base)
            expect(bases).toEqual(model.slice(first, first + bases.length).map((b) => b.base))
            if (bases.length > 1) expect(records.length).toBeLessThanOrEqual(o.maxBytes)
            expect(recordsOf(records).map((r) => r.value)).toEqual(model.slice(first, first + bases.length).flatMap((b) => b.values))
          } else {
            if (o.kind === 'reopen') await log.close()
            else mem.simulatePowerLoss()
            log = await env.open()
            expect(log.logEndOffset).toBe(end())
            expect(log.recoveryReport).toBeNull()
          }
        }
        await log.close()
      }),
      { numRuns: 60 },
    )
  })
})
