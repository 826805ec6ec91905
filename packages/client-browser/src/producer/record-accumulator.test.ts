import { encodeRecordBatch, type RecordInput } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../testing/manual-clock.js'
import { RecordAccumulator, type ClosedBatch } from './record-accumulator.js'

const te = new TextEncoder()
const noop = { resolve() {}, reject() {} }

function setup(lingerMs = 5, canSend?: (topic: string, partition: number) => boolean) {
  const clock = new ManualClock()
  const ready: ClosedBatch[] = []
  const acc = new RecordAccumulator({ lingerMs, clock, onReady: (b) => ready.push(b), ...(canSend && { canSend }) })
  const rec = (value: string, timestamp = clock.now()): RecordInput => ({ key: null, value: te.encode(value), headers: [], timestamp })
  return { clock, ready, acc, rec }
}

describe('RecordAccumulator', () => {
  it('closes a batch lingerMs after it opened, not before', () => {
    const { clock, ready, acc, rec } = setup(5)
    acc.append('t', 0, rec('a'), noop, 1 << 20)
    clock.advance(3)
    acc.append('t', 0, rec('b'), noop, 1 << 20)
    clock.advance(1)
    expect(ready).toHaveLength(0)
    clock.advance(1)
    expect(ready.map((b) => b.records.length)).toEqual([2])
    expect(acc.openBatches).toBe(0)
  })

  it('keeps one open batch per partition', () => {
    const { clock, ready, acc, rec } = setup(5)
    acc.append('t', 0, rec('a'), noop, 1 << 20)
    acc.append('t', 1, rec('b'), noop, 1 << 20)
    acc.append('u', 0, rec('c'), noop, 1 << 20)
    clock.advance(5)
    expect(ready.map((b) => `${b.topic}/${b.partition}:${b.records.length}`).sort()).toEqual(['t/0:1', 't/1:1', 'u/0:1'])
  })

  it('closes a batch when the next record would exceed maxBatchBytes, and the estimate equals the encoded size', () => {
    const { clock, ready, acc, rec } = setup(1_000)
    const value = 'x'.repeat(100)
    const oneRecordBatch = encodeRecordBatch({ records: [rec(value)] }).length
    const max = oneRecordBatch + 2 * (oneRecordBatch - 61) // room for three records
    for (let i = 0; i < 7; i++) acc.append('t', 0, rec(value), noop, max)
    expect(ready.map((b) => b.records.length)).toEqual([3, 3])
    for (const b of ready) {
      const encoded = encodeRecordBatch({ records: b.records })
      expect(encoded.length).toBe(b.sizeBytes)
      expect(encoded.length).toBeLessThanOrEqual(max)
    }
    clock.advance(1_000)
    expect(ready.map((b) => b.records.length)).toEqual([3, 3, 1])
  })

  it('starts a new batch when a record is older than the batch’s first (exact size estimates)', () => {
    const { clock, ready, acc, rec } = setup(5)
    acc.append('t', 0, rec('a', clock.now()), noop, 1 << 20)
    acc.append('t', 0, rec('b', clock.now() - 10), noop, 1 << 20)
    expect(ready.map((b) => b.records.length)).toEqual([1])
  })

  it('closeAll closes everything at once and cancels linger timers', () => {
    const { clock, ready, acc, rec } = setup(5)
    acc.append('t', 0, rec('a'), noop, 1 << 20)
    acc.append('t', 1, rec('b'), noop, 1 << 20)
    acc.closeAll()
    expect(ready).toHaveLength(2)
    expect(clock.pendingTimers).toBe(0)
  })

  it('keeps a lingered batch open while its sender has no free slot, and closes it on sendReady', () => {
    let free = false
    const { clock, ready, acc, rec } = setup(5, (_t, p) => p !== 0 || free)
    acc.append('t', 0, rec('a'), noop, 1 << 20)
    acc.append('t', 1, rec('x'), noop, 1 << 20)
    clock.advance(5)
    expect(ready.map((b) => `${b.partition}:${b.records.length}`)).toEqual(['1:1']) // partition 1 has a free slot
    acc.append('t', 0, rec('b'), noop, 1 << 20)
    clock.advance(100)
    acc.append('t', 0, rec('c'), noop, 1 << 20)
    expect(ready).toHaveLength(1)
    acc.sendReady('t', 1) // nothing open there: no-op
    expect(ready).toHaveLength(1)
    free = true
    acc.sendReady('t', 0)
    expect(ready.map((b) => `${b.partition}:${b.records.length}`)).toEqual(['1:1', '0:3'])
    expect(acc.openBatches).toBe(0)
  })

  it('sendReady does not close a batch before lingerMs has passed', () => {
    const { clock, ready, acc, rec } = setup(5, () => true)
    acc.append('t', 0, rec('a'), noop, 1 << 20)
    acc.sendReady('t', 0)
    expect(ready).toHaveLength(0)
    clock.advance(5)
    expect(ready.map((b) => b.records.length)).toEqual([1])
  })

  it('still closes a full batch while its sender has no free slot (it queues behind the in-flight ones)', () => {
    const { ready, acc, rec } = setup(5, () => false)
    const value = 'x'.repeat(100)
    const oneRecordBatch = encodeRecordBatch({ records: [rec(value)] }).length
    const max = oneRecordBatch + (oneRecordBatch - 61) // room for two records
    for (let i = 0; i < 5; i++) acc.append('t', 0, rec(value), noop, max)
    expect(ready.map((b) => b.records.length)).toEqual([2, 2])
    acc.closeAll()
    expect(ready.map((b) => b.records.length)).toEqual([2, 2, 1])
  })
})
