/**
 * @module The (topic, partitions) lists the consumer-group exchanges share: an assignment, owned partitions, a
 * request for committed offsets. Topics appear at most once per list and partitions at most once per topic (a decoder
 * refuses repeats: two entries for one partition would let one request say two things about it).
 *
 * Layout: count u32, [topic string, partitionCount u32, [partition i32]…]…
 */
import type { ByteReader } from '../bytes/byte-reader.js'
import type { ByteWriter } from '../bytes/byte-writer.js'
import { ProtocolError } from '../errors.js'

export interface TopicPartitions {
  readonly topic: string
  readonly partitions: readonly number[]
}

export function writeTopicPartitions(w: ByteWriter, list: readonly TopicPartitions[]): void {
  w.u32(list.length)
  for (const t of list) {
    w.string(t.topic).u32(t.partitions.length)
    for (const p of t.partitions) w.i32(p)
  }
}

export function readTopicPartitions(r: ByteReader): TopicPartitions[] {
  const seen = new Set<string>()
  return Array.from({ length: r.count(6) }, () => {
    const topic = r.string()
    if (seen.has(topic)) throw new ProtocolError(`topic "${topic}" appears twice in one partition list`)
    seen.add(topic)
    const partitions = Array.from({ length: r.count(4) }, () => r.i32())
    if (new Set(partitions).size !== partitions.length) throw new ProtocolError(`a partition of topic "${topic}" appears twice in one partition list`)
    return { topic, partitions }
  })
}

/** A list that may be absent: flag u8 (0 = null, "unchanged since the last request"), then the list. */
export function writeNullableTopicPartitions(w: ByteWriter, list: readonly TopicPartitions[] | null): void {
  w.bool(list !== null)
  if (list !== null) writeTopicPartitions(w, list)
}

export function readNullableTopicPartitions(r: ByteReader): TopicPartitions[] | null {
  return r.bool() ? readTopicPartitions(r) : null
}
