import { describe, expect, it } from 'vitest'
import { Fifo } from './fifo.js'

describe('Fifo', () => {
  it('hands items out in order across compactions', () => {
    const q = new Fifo<number>()
    const out: number[] = []
    for (let i = 0; i < 5000; i++) {
      q.push(i)
      if (i % 3 === 0) out.push(q.shift()!)
    }
    while (q.length > 0) out.push(q.shift()!)
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i))
    expect(q.shift()).toBeUndefined()
  })

  it('retains matching items in order and replaces the newest', () => {
    const q = new Fifo<number>()
    for (let i = 0; i < 10; i++) q.push(i)
    q.shift()
    q.retain((n) => n % 2 === 0)
    q.replaceLast(80)
    expect([q.shift(), q.shift(), q.shift(), q.shift(), q.length]).toEqual([2, 4, 6, 80, 0])
  })
})
