// Builds produce-shaped frames (8-byte frame header + produce request + RecordBatch v2) with the exact
// sizes the SDK sends, without depending on the built packages; used by the plain-ws baseline.

const BATCH_HEADER_BYTES = 61

function varintSize(v) {
  let z = v >= 0 ? v * 2 : -v * 2 - 1
  let n = 1
  while (z >= 128) { z = Math.floor(z / 128); n++ }
  return n
}

function writeVarint(buf, at, v) {
  let z = v >= 0 ? v * 2 : -v * 2 - 1
  while (z >= 128) { buf[at++] = (z % 128) | 0x80; z = Math.floor(z / 128) }
  buf[at++] = z
  return at
}

function recordBodyBytes(valueBytes, offsetDelta) {
  return 1 + varintSize(0) + varintSize(offsetDelta) + varintSize(-1) + varintSize(valueBytes) + valueBytes + varintSize(0)
}

/** Encoded bytes of one record (value only, null key, no headers) including its length prefix. */
export function recordBytesOnWire(valueBytes, offsetDelta) {
  const body = recordBodyBytes(valueBytes, offsetDelta)
  return varintSize(body) + body
}

/** How many records of valueBytes fit in a frame of at most frameBytes (topic name of topicBytes). */
export function recordsPerFrame(valueBytes, frameBytes, topicBytes = 16) {
  const fixed = 8 + 2 + topicBytes + 4 + 1 + 4 + BATCH_HEADER_BYTES
  let n = 0
  let total = fixed
  while (true) {
    const next = recordBytesOnWire(valueBytes, n)
    if (total + next > frameBytes && n > 0) return n
    total += next
    n++
  }
}

/** One produce request frame holding `count` records of `valueBytes` each. Correlation id at bytes 4..8. */
export function buildProduceFrame(valueBytes, count, topic = 'bench-raw-topic0') {
  const topicUtf8 = Buffer.from(topic, 'utf8')
  let batchBytes = BATCH_HEADER_BYTES
  for (let i = 0; i < count; i++) batchBytes += recordBytesOnWire(valueBytes, i)
  const frame = Buffer.alloc(8 + 2 + topicUtf8.length + 4 + 1 + 4 + batchBytes)
  let at = 0
  frame.writeUInt16BE(5, 0) // PRODUCE
  frame.writeUInt16BE(1, 2)
  frame.writeUInt32BE(0, 4)
  at = 8
  frame.writeUInt16BE(topicUtf8.length, at); at += 2
  topicUtf8.copy(frame, at); at += topicUtf8.length
  frame.writeInt32BE(0, at); at += 4 // partition
  frame.writeInt8(-1, at); at += 1 // acks all
  frame.writeUInt32BE(30_000, at); at += 4
  const batchAt = at
  frame.writeInt32BE(batchBytes - 12, batchAt + 8)
  frame.writeInt32BE(-1, batchAt + 12)
  frame.writeInt8(2, batchAt + 16)
  frame.writeInt32BE(count - 1, batchAt + 23)
  frame.writeBigInt64BE(-1n, batchAt + 43) // producerId (the SDK's idempotent producer sends a real one: same size)
  frame.writeInt16BE(-1, batchAt + 51)
  frame.writeInt32BE(-1, batchAt + 53)
  frame.writeInt32BE(count, batchAt + 57)
  at = batchAt + BATCH_HEADER_BYTES
  const value = Buffer.alloc(valueBytes, 0x61)
  for (let i = 0; i < count; i++) {
    at = writeVarint(frame, at, recordBodyBytes(valueBytes, i))
    frame[at++] = 0
    at = writeVarint(frame, at, 0)
    at = writeVarint(frame, at, i)
    at = writeVarint(frame, at, -1)
    at = writeVarint(frame, at, valueBytes)
    value.copy(frame, at); at += valueBytes
    at = writeVarint(frame, at, 0)
  }
  if (at !== frame.length) throw new Error(`frame builder miscounted: wrote ${at} of ${frame.length}`)
  return frame
}
