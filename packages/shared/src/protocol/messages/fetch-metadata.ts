/**
 * @module fetchMetadata: a broker-only node (an observer of the metadata log, not a Raft voter) asks a controller
 * voter for the committed metadata batches after the offset it has applied. Any voter may answer (committed entries
 * are final); the observer prefers the active controller, whose id every answer names. A long poll: the voter
 * answers once it has applied a batch after `afterOffset`, once the controller leader it knows differs from
 * `knownLeaderId`, or after `maxWaitMs`. When the batches after `afterOffset` are no longer kept (compacted away, or
 * the voter restarted from a snapshot since) the answer carries the whole metadata image instead (the snapshot,
 * which holds its own offset) and no entries. Entries are whole batches in offset order, at most `maxBytes` of them
 * (at least one). Sent only over a cluster-peer connection; NOT_CONTROLLER from a node that is no controller voter.
 *
 * Request:  afterOffset i64, knownLeaderId i32, maxWaitMs u32, maxBytes u32
 *           (afterOffset: the offset of the last batch the observer applied, -1 before any;
 *            knownLeaderId: the controller leader it knows, 0 when none)
 * Response: leaderId i32, term i64, latestOffset i64, hasSnapshot bool, [snapshot bytes],
 *           entryCount u32, [offset i64, data bytes]…
 *           (leaderId: the controller leader this voter knows, 0 when none; latestOffset: the offset of the last
 *            batch this voter has applied; bytes = u32 length + bytes)
 */
import { ApiKeys } from '../api-keys.js'
import type { Exchange } from '../exchange.js'

export interface FetchMetadataRequest {
  readonly afterOffset: number
  readonly knownLeaderId: number
  readonly maxWaitMs: number
  readonly maxBytes: number
}

/** One committed metadata batch (one Raft entry) at its offset (Raft index). */
export interface MetadataLogEntry {
  readonly offset: number
  readonly data: Uint8Array
}

export interface FetchMetadataResponse {
  readonly leaderId: number
  readonly term: number
  readonly latestOffset: number
  /** The encoded metadata image, when the entries after afterOffset are not kept; null otherwise. */
  readonly snapshot: Uint8Array | null
  readonly entries: readonly MetadataLogEntry[]
}

export const fetchMetadata: Exchange<FetchMetadataRequest, FetchMetadataResponse> = {
  apiKey: ApiKeys.FETCH_METADATA,
  name: 'fetchMetadata',
  encodeRequest: (w, q) => void w.i64(q.afterOffset).i32(q.knownLeaderId).u32(q.maxWaitMs).u32(q.maxBytes),
  decodeRequest: (r) => {
    const q = { afterOffset: r.i64(), knownLeaderId: r.i32(), maxWaitMs: r.u32(), maxBytes: r.u32() }
    r.end()
    return q
  },
  encodeResponse: (w, s) => {
    w.i32(s.leaderId).i64(s.term).i64(s.latestOffset).bool(s.snapshot !== null)
    if (s.snapshot !== null) w.bytes(s.snapshot)
    w.u32(s.entries.length)
    for (const e of s.entries) w.i64(e.offset).bytes(e.data)
  },
  decodeResponse: (r) => {
    const head = { leaderId: r.i32(), term: r.i64(), latestOffset: r.i64() }
    const snapshot = r.bool() ? r.bytes() : null
    const entries: MetadataLogEntry[] = []
    for (let n = r.count(12); n > 0; n--) entries.push({ offset: r.i64(), data: r.bytes() })
    r.end()
    return { ...head, snapshot, entries }
  },
}
