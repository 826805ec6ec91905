import { describe, expect, it } from 'vitest'
import { ConsumerRecord } from './consumer-record.js'
import { DeliveryQueue } from './delivery-queue.js'

const rec = (partition: number, offset: number) => new ConsumerRecord({ topic: 't', partition, offset, timestamp: 0, key: null, value: null, rawHeaders: [], leaderEpoch: 0 })
const drain = (q: DeliveryQueue) => {
  const out: string[] = []
  for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(`${x.record.partition}:${x.record.offset}`)
  return out
}

describe('DeliveryQueue', () => {
  it('delivers in arrival order across partitions, skipping paused ones, whose records wait in place', () => {
    const q = new DeliveryQueue()
    for (const [p, o] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) q.push({ record: rec(p, o), creditBytes: 0, push: 0 })
    q.pause([0])
    expect(q.isPaused(0)).toBe(true)
    expect(drain(q)).toEqual(['1:0', '1:1'])
    expect(q.length).toBe(2)
    expect(q.peek()).toBeUndefined()
    q.push({ record: rec(1, 2), creditBytes: 0, push: 1 })
    q.resume([0])
    expect(drain(q)).toEqual(['0:0', '0:1', '1:2'])
    expect(q.length).toBe(0)
  })

  it('discard drops one partition only; replaceLast replaces that partition’s newest record in place', () => {
    const q = new DeliveryQueue()
    q.push({ record: rec(0, 0), creditBytes: 0, push: 0 })
    q.push({ record: rec(1, 0), creditBytes: 0, push: 1 })
    q.push({ record: rec(0, 1), creditBytes: 0, push: 2 })
    q.replaceLast({ record: rec(0, 1), creditBytes: 99, push: 2 })
    expect(q.count(0)).toBe(2)
    expect(q.discard(1)).toBe(1)
    expect(q.length).toBe(2)
    q.shift()
    expect(q.shift()).toMatchObject({ creditBytes: 99, push: 2 })
  })
})
