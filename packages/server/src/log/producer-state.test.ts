import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { lastSequence, ProducerStateTable } from './producer-state.js'

const h = (producerId: number, producerEpoch: number, baseSequence: number, records = 1, crc = 0xc0ffee) => ({ producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1, crc })

function expectError(fn: () => unknown, name: string, details?: object): void {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(SamsaError)
    expect((e as SamsaError).errorName).toBe(name)
    if (details) expect((e as SamsaError).details).toMatchObject(details)
    return
  }
  throw new Error(`expected ${name}`)
}

describe('ProducerStateTable', () => {
  it('does not check plain producers (producerId −1)', () => {
    const t = new ProducerStateTable()
    t.update(h(-1, -1, -1), 0, 0)
    expect(t.check(h(-1, -1, -1))).toEqual({ kind: 'append' })
    expect(t.size).toBe(0)
  })

  it('accepts an unknown producer at any sequence', () => {
    const t = new ProducerStateTable()
    expect(t.check(h(7, 0, 42))).toEqual({ kind: 'append' })
  })

  it('accepts the next sequence and rejects a gap or a step back with details', () => {
    const t = new ProducerStateTable()
    t.update(h(7, 0, 0, 3), 10, 0) // seq 0..2 at offsets 10..12
    expect(t.check(h(7, 0, 3))).toEqual({ kind: 'append' })
    expectError(() => t.check(h(7, 0, 5)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 3, receivedSequence: 5 })
    expectError(() => t.check(h(7, 0, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 3, receivedSequence: 1 })
  })

  it('returns the original offsets for any of the last 5 batches, not for older ones', () => {
    const t = new ProducerStateTable()
    for (let i = 0; i < 7; i++) t.update(h(7, 0, i * 2, 2), 100 + i * 2, 0)
    for (let i = 2; i < 7; i++) expect(t.check(h(7, 0, i * 2, 2))).toEqual({ kind: 'duplicate', baseOffset: 100 + i * 2, lastOffset: 101 + i * 2 })
    expectError(() => t.check(h(7, 0, 2, 2)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 14 })
    expect(t.get(7)?.batches).toHaveLength(5)
  })

  it('a same-start batch with a different length is not a duplicate', () => {
    const t = new ProducerStateTable()
    t.update(h(7, 0, 0, 2), 0, 0)
    expectError(() => t.check(h(7, 0, 0, 3)), 'OUT_OF_ORDER_SEQUENCE_NUMBER')
  })

  it('rejects an older epoch and requires sequence 0 for a newer one, which resets the state', () => {
    const t = new ProducerStateTable()
    t.update(h(7, 3, 0, 2), 0, 0)
    expectError(() => t.check(h(7, 2, 2)), 'INVALID_PRODUCER_EPOCH', { currentEpoch: 3 })
    expectError(() => t.check(h(7, 4, 2)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 0, receivedSequence: 2 })
    expect(t.check(h(7, 4, 0))).toEqual({ kind: 'append' })
    t.update(h(7, 4, 0), 5, 0)
    expect(t.get(7)).toEqual({ epoch: 4, batches: [{ firstSeq: 0, lastSeq: 0, baseOffset: 5, lastOffset: 5, crc: 0xc0ffee }], lastAppendMs: 0 })
    expectError(() => t.check(h(7, 3, 2)), 'INVALID_PRODUCER_EPOCH')
  })

  it('wraps sequences past int32 max to 0', () => {
    const max = 0x7fffffff
    expect(lastSequence(max - 1, 1)).toBe(max)
    expect(lastSequence(max, 1)).toBe(0)
    expect(lastSequence(max - 1, 3)).toBe(1)
    const t = new ProducerStateTable()
    t.update(h(9, 0, max - 1, 2), 0, 0)
    expect(t.check(h(9, 0, 0))).toEqual({ kind: 'append' })
    t.update(h(9, 0, max, 3), 0, 0)
    expect(t.check(h(9, 0, 2))).toEqual({ kind: 'append' })
  })

  it('keeps producers independent', () => {
    const t = new ProducerStateTable()
    t.update(h(1, 0, 0), 0, 0)
    t.update(h(2, 0, 10), 1, 0)
    expect(t.check(h(1, 0, 1))).toEqual({ kind: 'append' })
    expect(t.check(h(2, 0, 11))).toEqual({ kind: 'append' })
    expect(t.check(h(2, 0, 10))).toEqual({ kind: 'duplicate', baseOffset: 1, lastOffset: 1 })
  })

  it('answers DUPLICATE_SEQUENCE_CONFLICT when a batch reuses a stored sequence with different bytes (CRC)', () => {
    const t = new ProducerStateTable()
    t.update(h(7, 0, 0, 2, 111), 40, 0)
    t.update(h(7, 0, 2, 1, 222), 42, 0)
    expect(t.check(h(7, 0, 0, 2, 111))).toEqual({ kind: 'duplicate', baseOffset: 40, lastOffset: 41 })
    expectError(() => t.check(h(7, 0, 0, 2, 999)), 'DUPLICATE_SEQUENCE_CONFLICT', { producerId: 7, baseSequence: 0, baseOffset: 40 })
    expectError(() => t.check(h(7, 0, 2, 1, 111)), 'DUPLICATE_SEQUENCE_CONFLICT', { baseOffset: 42 })
    expect(t.check(h(7, 0, 2, 1, 222))).toEqual({ kind: 'duplicate', baseOffset: 42, lastOffset: 42 })
  })
})

describe('ProducerStateTable expiry', () => {
  it('drops an id once its last append is expirationMs old; an append keeps it alive', () => {
    const t = new ProducerStateTable()
    t.update(h(1, 0, 0), 0, 1_000)
    t.update(h(2, 0, 0), 1, 1_000)
    t.update(h(2, 0, 1), 2, 5_000)
    expect(t.expire(10_999, 10_000)).toBe(0)
    expect(t.expire(11_000, 10_000)).toBe(1)
    expect([t.get(1), t.size]).toEqual([undefined, 1])
    expect(t.check(h(1, 0, 0))).toEqual({ kind: 'append' }) // an id it no longer knows: as any unknown id
    expect(t.check(h(2, 0, 1))).toMatchObject({ kind: 'duplicate', baseOffset: 2 })
    expect(t.expire(15_000, 10_000)).toBe(1)
  })
})
