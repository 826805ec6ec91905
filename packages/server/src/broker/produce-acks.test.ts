import { describe, expect, it } from 'vitest'
import { awaitAcks, type HighWatermarkView } from './produce-acks.js'

/** A partition whose high watermark the test moves by hand (as replication will, below the leader's log end). */
function partitionAt(highWatermark: number) {
  const listeners = new Set<(hw: number) => void>()
  const view = {
    highWatermark,
    onHighWatermark(l: (hw: number) => void) {
      listeners.add(l)
      return () => void listeners.delete(l)
    },
    advance(hw: number) {
      view.highWatermark = hw
      for (const l of [...listeners]) l(hw)
    },
    listeners,
  }
  return view satisfies HighWatermarkView
}

const settled = async (p: Promise<void>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))])

describe('awaitAcks', () => {
  it('acks=1 (leader) and acks=0 are done once the leader log has the batch, whatever the high watermark', async () => {
    const p = partitionAt(0)
    expect(await settled(awaitAcks(1, p, 10).done)).toBe(true)
    expect(await settled(awaitAcks(0, p, 10).done)).toBe(true)
  })

  it('acks=-1 (all) waits until the high watermark covers the batch', async () => {
    const p = partitionAt(5)
    const w = awaitAcks(-1, p, 10)
    expect(await settled(w.done)).toBe(false)
    p.advance(9)
    expect(await settled(w.done)).toBe(false)
    p.advance(10)
    expect(await settled(w.done)).toBe(true)
    expect(p.listeners.size).toBe(0)
    expect(await settled(awaitAcks(-1, p, 10).done)).toBe(true)
  })

  it('cancel drops the wait', () => {
    const p = partitionAt(0)
    awaitAcks(-1, p, 10).cancel()
    expect(p.listeners.size).toBe(0)
  })
})
