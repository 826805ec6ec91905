/**
 * @module One-offset checkpoints of a partition: `log-start-offset` (where retention moved the log start) and
 * `high-watermark` (the last high watermark a replicated partition recorded, where it starts after a restart).
 * Format (12 bytes, big-endian): offset uint64 as (hi uint32, lo uint32), then CRC-32C of those 8 bytes.
 */
import { crc32c } from '@samsa/shared'
import type { LogStorage } from './log-storage.js'

export const LOG_START_CHECKPOINT = 'log-start-offset'
export const HIGH_WATERMARK_CHECKPOINT = 'high-watermark'
const TWO32 = 0x1_0000_0000

export function encodeOffsetCheckpoint(offset: number): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.floor(offset / TWO32))
  view.setUint32(4, offset % TWO32)
  view.setUint32(8, crc32c(out, 0, 8))
  return out
}

/** The offset, or null when the bytes are not a valid checkpoint (wrong size or CRC). */
export function decodeOffsetCheckpoint(bytes: Uint8Array): number | null {
  if (bytes.length !== 12) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, 12)
  if (view.getUint32(8) !== crc32c(bytes, 0, 8)) return null
  const offset = view.getUint32(0) * TWO32 + view.getUint32(4)
  return Number.isSafeInteger(offset) ? offset : null
}

/** Written temp → fsync → rename → fsync dir (writeFileAtomic). */
export async function writeOffsetCheckpoint(storage: LogStorage, dir: string, name: string, offset: number): Promise<void> {
  await storage.writeFileAtomic(`${dir}/${name}`, encodeOffsetCheckpoint(offset))
}

/**
 * The writes of one checkpoint file, one at a time and apart from the log's write queue (a checkpoint's fsyncs never
 * hold an append back); refused once closed, and close() waits for the one running.
 */
export class CheckpointWrites {
  #tail: Promise<void> = Promise.resolve()
  #closed = false

  /** Runs `write` after the writes before it. */
  run(write: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(() => {
      if (this.#closed) throw new Error('the partition log is closed')
      return write()
    })
    this.#tail = run.catch(() => {})
    return run
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#tail
  }
}
