/** @module Helpers over the raw protocol and the on-disk layout: produce numbered values, drain a partition, list, parse and damage segment files. */
import { open, readdir, readFile, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { decodeRecords, encodeRecordBatch, exchanges, scanBatches, verifyBatch, type BatchHeader } from '../../packages/shared/src/index.js'
import type { Read } from './history-checker.js'
import type { RawConnection } from './raw-connection.js'

const te = new TextEncoder()
const td = new TextDecoder()

export const value = (prefix: string, n: number) => `${prefix}-${String(n).padStart(6, '0')}`

/** Produces one batch of the given values (acks all) and returns its base offset; throws the broker's error. */
export async function produceValues(conn: RawConnection, topic: string, partition: number, values: readonly string[], timestamp = 1_700_000_000_000): Promise<number> {
  const batch = encodeRecordBatch({ records: values.map((v, i) => ({ key: null, value: te.encode(v), headers: [], timestamp: timestamp + i })) })
  const r = await conn.request(exchanges.produce, { topic, partition, acks: -1, timeoutMs: 10_000, batch })
  if (!r.ok) throw r.error
  return r.value.baseOffset
}

/** Reads a partition from `from` to its high watermark with bounded fetches; verifies every batch's CRC. */
export async function drainPartition(conn: RawConnection, topic: string, partition: number, from = 0, maxRounds = 100_000): Promise<Read[]> {
  const out: Read[] = []
  let offset = from
  for (let round = 0; round < maxRounds; round++) {
    const r = await conn.request(exchanges.fetch, { topic, partition, offset, maxBytes: 1024 * 1024, maxWaitMs: 0, minBytes: 0 })
    if (!r.ok) throw r.error
    const bytes = r.value.records
    let progressed = false
    for (const b of scanBatches(bytes)) {
      verifyBatch(bytes, b.at, b.at + b.totalBytes)
      for (const rec of decodeRecords(bytes, b.at).records) {
        if (rec.offset < offset) continue
        out.push({ partition, offset: rec.offset, value: rec.value === null ? '' : td.decode(rec.value) })
        offset = rec.offset + 1
        progressed = true
      }
    }
    if (offset >= r.value.highWatermark) return out
    if (!progressed) throw new Error(`fetch at offset ${offset} of ${topic}/${partition} returned nothing below the high watermark ${r.value.highWatermark}`)
  }
  throw new Error(`draining ${topic}/${partition} did not finish in ${maxRounds} fetches`)
}

export interface OnDiskBatch {
  readonly position: number
  readonly totalBytes: number
  readonly header: BatchHeader
}

/** The `.log` files of a partition directory, oldest first (absolute paths). */
export async function segmentFiles(dataDir: string, topic: string, partition: number): Promise<string[]> {
  const dir = join(dataDir, 'topics', topic, String(partition))
  return (await readdir(dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort().map((n) => join(dir, n))
}

/** The complete batches of a segment file, in order. */
export async function batchesIn(file: string): Promise<OnDiskBatch[]> {
  const bytes = new Uint8Array(await readFile(file))
  return [...scanBatches(bytes)].map((b) => ({ position: b.at, totalBytes: b.totalBytes, header: b.header }))
}

/**
 * Removes the recovery point of the partition holding segment `file` (its owner must be stopped), so the next start
 * verifies every batch, as after a broker killed before its first recovery point: for tests of damage recovery must
 * find, since recovery does not read the bytes a recovery point vouches for.
 */
export async function forgetRecoveryPoint(file: string): Promise<void> {
  await rm(join(dirname(file), 'recovery-point'), { force: true })
}

/**
 * Damages batch `index` of a segment file in place (the file's owner must be stopped): flips every bit of the batch's
 * last byte, inside the part its CRC covers, so recovery finds the batch whole but failing its CRC. Returns the batch.
 * The partition's recovery point is removed too: recovery does not read the bytes one vouches for (as after a broker
 * killed before its first recovery point), and these tests are about damage that recovery must find.
 */
export async function damageBatch(file: string, index: number): Promise<OnDiskBatch> {
  await forgetRecoveryPoint(file)
  const bytes = new Uint8Array(await readFile(file))
  const batch = [...scanBatches(bytes)][index]
  if (!batch) throw new Error(`${file} has no batch #${index}`)
  const at = batch.at + batch.totalBytes - 1
  const handle = await open(file, 'r+')
  try {
    await handle.write(Uint8Array.of(bytes[at]! ^ 0xff), 0, 1, at)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return { position: batch.at, totalBytes: batch.totalBytes, header: batch.header }
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its printed seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Integer in [lo, hi). */
export const randomInt = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo))
