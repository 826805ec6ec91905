/** @module The wait of a fetch long poll: until minBytes are readable above its offset, its time is up, or its connection goes. */
import { batchLastOffset, scanBatches } from '@samsa/shared'
import type { Clock } from '../clock.js'
import type { PartitionLog } from '../log/partition-log.js'

/** Offset after the last batch in `records`; `offset` when there is none. */
export function readEnd(records: Uint8Array, offset: number): number {
  let end = offset
  for (const b of scanBatches(records)) end = batchLastOffset(b.header) + 1
  return end
}

type OnGone = (cancel: () => void) => () => void

/**
 * Resolves true once `listen`'s condition fires or waitMs elapse; false when the requester went away first. Every
 * listener and the timer are removed when it settles.
 */
function waitUntil(clock: Clock, listen: (fire: () => void) => () => void, waitMs: number, onGone?: OnGone): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false
    let offGone: (() => void) | undefined
    const done = (wanted: boolean) => {
      if (settled) return
      settled = true
      off()
      offGone?.()
      clock.clearTimeout(timer)
      resolve(wanted)
    }
    const off = listen(() => done(true))
    const timer = clock.setTimeout(() => done(true), waitMs)
    offGone = onGone?.(() => done(false))
    if (settled) offGone?.()
  })
}

/**
 * Resolves true once the partition's high watermark position has grown by `bytes` past `mark`, or waitMs elapse;
 * false when the requester went away first.
 */
export function waitForBytes(clock: Clock, log: PartitionLog, mark: number, bytes: number, waitMs: number, onGone?: OnGone): Promise<boolean> {
  return waitUntil(clock, (fire) => log.onHighWatermark(() => log.highWatermarkPosition - mark >= bytes && fire()), waitMs, onGone)
}

/**
 * A replica fetch's wait: resolves true once the partition's log end passes `offset` (its batch written, maybe not
 * yet fsynced), or waitMs elapse; false when the requester went away first.
 */
export function waitForLogEnd(clock: Clock, log: PartitionLog, offset: number, waitMs: number, onGone?: OnGone): Promise<boolean> {
  return waitUntil(clock, (fire) => log.onLogEnd((end) => end > offset && fire()), waitMs, onGone)
}
