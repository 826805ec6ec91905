/** @module Keyed test batches for the log cleaner: [key, value | null] pairs in, (offset, key, value) out. */
import { decodeRecords, encodeRecordBatch, scanBatches } from '@samsa/shared'
import type { PartitionLog } from '../partition-log.js'

const te = new TextEncoder()
const td = new TextDecoder()

export type KeyedEntry = readonly [key: string, value: string | null]

export function keyedBatch(entries: readonly KeyedEntry[], opts: { timestampMs?: number; producerId?: number; baseSequence?: number } = {}): Uint8Array {
  const records = entries.map(([k, v], i) => ({ key: te.encode(k), value: v === null ? null : te.encode(v), headers: [{ key: 'h', value: te.encode(k) }], timestamp: (opts.timestampMs ?? 1_700_000_000_000) + i }))
  return encodeRecordBatch(opts.producerId === undefined ? { records } : { records, producerId: opts.producerId, producerEpoch: 0, baseSequence: opts.baseSequence ?? 0 })
}

export interface ReadRecord {
  readonly offset: number
  readonly key: string
  readonly value: string | null
  readonly timestamp: number
  readonly header: string | null
}

/** Every record the partition serves from its log start to its high watermark. */
export async function readAll(log: PartitionLog): Promise<ReadRecord[]> {
  const out: ReadRecord[] = []
  let at = log.logStartOffset
  while (at < log.highWatermark) {
    const { records } = await log.read(at, 1 << 20)
    let next = at
    for (const b of scanBatches(records)) {
      for (const r of decodeRecords(records, b.at).records) {
        if (r.offset < at) continue
        out.push({ offset: r.offset, key: td.decode(r.key ?? new Uint8Array(0)), value: r.value === null ? null : td.decode(r.value), timestamp: r.timestamp, header: r.headers[0]?.value ? td.decode(r.headers[0].value) : null })
      }
      next = b.header.baseOffset + b.header.lastOffsetDelta + 1
    }
    if (next <= at) throw new Error(`no progress reading at ${at}`)
    at = next
  }
  return out
}
