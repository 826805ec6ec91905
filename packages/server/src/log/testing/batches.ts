/** @module Test batches: small RecordBatch v2 byte arrays with recognisable values. */
import { decodeRecords, encodeRecordBatch, scanBatches } from '@samsa/shared'

export interface TestBatchOptions {
  records?: number
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  timestampMs?: number
  valueBytes?: number
  tag?: string
}

const te = new TextEncoder()
const td = new TextDecoder()

export function testBatch(opts: TestBatchOptions = {}): Uint8Array {
  const n = opts.records ?? 1
  const tag = opts.tag ?? 'v'
  const pad = 'x'.repeat(opts.valueBytes ?? 0)
  const records = Array.from({ length: n }, (_, i) => ({
    key: null,
    value: te.encode(`${tag}-${i}${pad}`),
    headers: [],
    timestamp: (opts.timestampMs ?? 1_700_000_000_000) + i,
  }))
  const input: Parameters<typeof encodeRecordBatch>[0] = { records }
  if (opts.producerId !== undefined) Object.assign(input, { producerId: opts.producerId, producerEpoch: opts.producerEpoch ?? 0, baseSequence: opts.baseSequence ?? 0 })
  return encodeRecordBatch(input)
}

/** (offset, value) of every record in a read result. */
export function recordsOf(bytes: Uint8Array): { offset: number; value: string }[] {
  const out: { offset: number; value: string }[] = []
  for (const b of scanBatches(bytes)) {
    for (const r of decodeRecords(bytes, b.at).records) out.push({ offset: r.offset, value: td.decode(r.value ?? new Uint8Array(0)) })
  }
  return out
}

/** Base offsets of the batches in a read result. */
export function batchBasesOf(bytes: Uint8Array): number[] {
  return [...scanBatches(bytes)].map((b) => b.header.baseOffset)
}
