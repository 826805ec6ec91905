import { describe, expect, it } from 'vitest'
import { awaitAcks, checkAcksBeforeAppend, type HighWatermarkView, type InsyncView } from './produce-acks.js'

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

/** A leader's in-sync view the test changes by hand. */
function insync(isrSize: number, minInsyncReplicas: number) {
  const resigned = new Set<() => void>()
  const view = {
    isrSize,
    minInsyncReplicas,
    onResigned(l: () => void) {
      resigned.add(l)
      return () => void resigned.delete(l)
    },
    resign: () => [...resigned].forEach((l) => l()),
    resigned,
  }
  return view satisfies InsyncView
}

describe('acks=all with replication', () => {
  it('is refused before the append while the ISR is below min.insync.replicas; acks=1 is not', () => {
    expect(() => checkAcksBeforeAppend(-1, insync(1, 2))).toThrow(expect.objectContaining({ errorName: 'NOT_ENOUGH_REPLICAS' }))
    expect(() => checkAcksBeforeAppend(1, insync(1, 2))).not.toThrow()
    expect(() => checkAcksBeforeAppend(-1, insync(2, 2))).not.toThrow()
  })

  it('fails NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR fell below min.insync.replicas before the high watermark covered the batch', async () => {
    const p = partitionAt(0)
    const v = insync(3, 2)
    const acks = awaitAcks(-1, p, 10, v)
    v.isrSize = 1
    p.advance(10)
    await expect(acks.done).rejects.toMatchObject({ errorName: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' })
    expect(p.listeners.size).toBe(0)
    expect(v.resigned.size).toBe(0)
  })

  it('fails NOT_LEADER_OR_FOLLOWER when the broker stops leading first, and never completes later', async () => {
    const p = partitionAt(0)
    const v = insync(3, 2)
    const acks = awaitAcks(-1, p, 10, v)
    v.resign()
    await expect(acks.done).rejects.toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER' })
    expect(p.listeners.size).toBe(0)
  })
})
