/**
 * @module The record format of the Yjs provider: headers that mark what a record is and who wrote it, and reading
 * the latest snapshot of a document.
 *
 * - An update record (document topic, partition 0): value = one Yjs update (V1), headers `y-kind: update`,
 *   `y-session: <provider session>`. A record without `y-kind` is read as an update too.
 * - A snapshot record (snapshot topic, partition 0): value = a Yjs update containing every update record of the
 *   document partition below offset `y-upto`; headers `y-kind: snapshot`, `y-upto`, `y-session`.
 * - An awareness record (awareness topic, partition 0): value = a y-protocols awareness update, `y-kind: awareness`.
 */
import type { SamsaClient } from '../client.js'
import type { ConsumerRecord } from '../consumer/consumer-record.js'

export const YjsHeaders = { kind: 'y-kind', session: 'y-session', upto: 'y-upto' } as const

export type YjsRecordKind = 'update' | 'snapshot' | 'awareness'

export const recordKind = (r: ConsumerRecord): string => r.headers[YjsHeaders.kind] ?? 'update'

export interface Snapshot {
  /** Offset of the snapshot record on the snapshot topic. */
  readonly offset: number
  /** The snapshot contains every update record of the document partition below this offset. */
  readonly upto: number
  readonly state: Uint8Array
}

/** Snapshot records read back from the end of the snapshot topic; the one with the largest `y-upto` wins. */
const LOOKBACK_RECORDS = 3

export function parseSnapshot(r: ConsumerRecord): Snapshot | null {
  if (recordKind(r) !== 'snapshot' || r.value === null) return null
  const upto = Number(r.headers[YjsHeaders.upto])
  if (!Number.isSafeInteger(upto) || upto < 0) return null
  return { offset: r.offset, upto, state: r.value }
}

/**
 * The latest snapshot of the snapshot topic's partition 0: among its last few records, the one that covers the most
 * updates (a snapshot resent late from an outbox may cover fewer than an earlier one). Null when there is none.
 */
export async function readLatestSnapshot(client: SamsaClient, snapshotTopic: string, signal: AbortSignal): Promise<Snapshot | null> {
  const { offset: end } = await client.admin.listOffsets(snapshotTopic, 0, 'latest')
  if (end === 0 || signal.aborted) return null
  const sub = client.consumer().subscribe(snapshotTopic, { partitions: [0], from: { offset: Math.max(0, end - LOOKBACK_RECORDS) }, reset: 'earliest', until: 'end', signal })
  let best: Snapshot | null = null
  for await (const r of sub) {
    const s = parseSnapshot(r)
    if (s !== null && (best === null || s.upto > best.upto)) best = s
  }
  return best
}

/** Creates the topic with one partition; an existing topic is fine. */
export async function ensureTopic(client: SamsaClient, topic: string): Promise<void> {
  await client.admin.createTopic(topic, { partitions: 1 }).catch((e: unknown) => {
    if ((e as { errorName?: unknown })?.errorName !== 'TOPIC_ALREADY_EXISTS') throw e
  })
}

/** A retriable SamsaError (the connection is down or slow, the broker is busy): worth trying again later. */
export const isRetriable = (e: unknown): boolean => (e as { retriable?: unknown })?.retriable === true

/** The client (or the producer) was closed: the records, if stored, wait in the outbox for the next page life. */
export const isClientClosed = (e: unknown): boolean => (e as { errorName?: unknown; retriable?: unknown })?.errorName === 'NETWORK_EXCEPTION' && !isRetriable(e)

/** A random session id (not crypto.randomUUID: that needs a secure context). */
export function randomSessionId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
