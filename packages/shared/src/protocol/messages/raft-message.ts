/**
 * @module raftMessage: broker → broker, one-way frames carrying the controller quorum's Raft messages (apiKey
 * RAFT_MESSAGE, correlationId 0, never answered: Raft tolerates loss and carries its own responses). A broker
 * accepts them only on a connection whose hello named it a cluster peer of the same cluster id; from any other
 * connection the frame is answered with CLUSTER_AUTHORIZATION_FAILED (or HELLO_REQUIRED before hello).
 *
 * Body:    messageCount u32, [message]…
 * message: type u8, from u32, to u32, term i64, then by type:
 *   0 append:             index i64, logTerm i64, commit i64, entryCount u32, [entry]…
 *   1 appendResponse:     index i64, reject bool, rejectHint i64, logTerm i64
 *   2 vote, 3 preVote:    index i64, logTerm i64
 *   4 voteResponse, 5 preVoteResponse: reject bool
 *   6 heartbeat:          commit i64, hasContext bool, [context bytes]
 *   7 heartbeatResponse:  hasContext bool, [context bytes]
 *   8 snapshot:           index i64, snapshotTerm i64, voterCount u32, [nodeId u32]…, learnerCount u32, [nodeId u32]…, data bytes
 *   9 propose:            entryCount u32, [entry]…
 *   10 readIndex:         context bytes
 *   11 readIndexResponse: index i64, context bytes
 * entry:   term i64, index i64, data bytes          (bytes = length u32, then the bytes; empty data = a leader's no-op)
 * Node ids are ≥ 1 in from/to and membership; terms, indexes and commits are ≥ 0.
 */
import { ByteReader } from '../../bytes/byte-reader.js'
import { ByteWriter } from '../../bytes/byte-writer.js'
import { ProtocolError } from '../../errors.js'
import { ApiKeys } from '../api-keys.js'
import { FRAME_HEADER_BYTES, readFrameHeader } from '../frame.js'

// The wire shapes of the controller's Raft core (packages/server/src/controller/raft/messages.ts), structurally
// identical to it: the server checks at compile time that each is assignable to the other.

export interface RaftWireEntry {
  readonly term: number
  readonly index: number
  readonly data: Uint8Array
}

export interface RaftWireSnapshot {
  readonly metadata: { readonly index: number; readonly term: number; readonly voters: readonly number[]; readonly learners: readonly number[] }
  readonly data: Uint8Array
}

interface Envelope {
  readonly from: number
  readonly to: number
  readonly term: number
}

export type RaftWireMessage =
  | (Envelope & { readonly type: 'append'; readonly index: number; readonly logTerm: number; readonly entries: readonly RaftWireEntry[]; readonly commit: number })
  | (Envelope & { readonly type: 'appendResponse'; readonly index: number; readonly reject: boolean; readonly rejectHint: number; readonly logTerm: number })
  | (Envelope & { readonly type: 'vote' | 'preVote'; readonly index: number; readonly logTerm: number })
  | (Envelope & { readonly type: 'voteResponse' | 'preVoteResponse'; readonly reject: boolean })
  | (Envelope & { readonly type: 'heartbeat'; readonly commit: number; readonly context?: Uint8Array })
  | (Envelope & { readonly type: 'heartbeatResponse'; readonly context?: Uint8Array })
  | (Envelope & { readonly type: 'snapshot'; readonly snapshot: RaftWireSnapshot })
  | (Envelope & { readonly type: 'propose'; readonly entries: readonly RaftWireEntry[] })
  | (Envelope & { readonly type: 'readIndex'; readonly context: Uint8Array })
  | (Envelope & { readonly type: 'readIndexResponse'; readonly index: number; readonly context: Uint8Array })

const TYPE_CODES = {
  append: 0,
  appendResponse: 1,
  vote: 2,
  preVote: 3,
  voteResponse: 4,
  preVoteResponse: 5,
  heartbeat: 6,
  heartbeatResponse: 7,
  snapshot: 8,
  propose: 9,
  readIndex: 10,
  readIndexResponse: 11,
} as const satisfies Record<RaftWireMessage['type'], number>

/** Smallest encoding of a message (type, from, to, term, and the smallest body: a vote response). */
const MIN_MESSAGE_BYTES = 1 + 4 + 4 + 8 + 1
const MIN_ENTRY_BYTES = 8 + 8 + 4

/** An upper bound of the bytes a raftMessage frame of these messages takes (sizes the writer and outbound queue bounds). */
export function raftMessagesEncodedBytes(messages: readonly RaftWireMessage[]): number {
  let n = FRAME_HEADER_BYTES + 4
  for (const m of messages) {
    n += 17 + 40
    if (m.type === 'append' || m.type === 'propose') for (const e of m.entries) n += MIN_ENTRY_BYTES + e.data.length
    else if (m.type === 'snapshot') n += 8 * (m.snapshot.metadata.voters.length + m.snapshot.metadata.learners.length) + m.snapshot.data.length
    else if ('context' in m && m.context) n += 4 + m.context.length
  }
  return n
}

export function encodeRaftMessageFrame(apiVersion: number, messages: readonly RaftWireMessage[]): Uint8Array {
  const w = new ByteWriter(raftMessagesEncodedBytes(messages)).u16(ApiKeys.RAFT_MESSAGE).u16(apiVersion).u32(0).u32(messages.length)
  for (const m of messages) writeMessage(w, m)
  return w.finish()
}

/** Decodes a whole raftMessage frame (header included). Throws ProtocolError only. */
export function decodeRaftMessageFrame(bytes: Uint8Array): RaftWireMessage[] {
  const h = readFrameHeader(bytes)
  if (h.apiKey !== ApiKeys.RAFT_MESSAGE) throw new ProtocolError(`not a raftMessage frame (apiKey ${h.apiKey})`)
  return decodeRaftMessageBody(new ByteReader(bytes, FRAME_HEADER_BYTES))
}

export function decodeRaftMessageBody(r: ByteReader): RaftWireMessage[] {
  const n = r.count(MIN_MESSAGE_BYTES)
  const out: RaftWireMessage[] = []
  for (let i = 0; i < n; i++) out.push(readMessage(r))
  r.end()
  return out
}

function writeEntries(w: ByteWriter, entries: readonly RaftWireEntry[]): void {
  w.u32(entries.length)
  for (const e of entries) w.i64(e.term).i64(e.index).bytes(e.data)
}

function writeContext(w: ByteWriter, context: Uint8Array | undefined): void {
  w.bool(context !== undefined)
  if (context !== undefined) w.bytes(context)
}

function writeMessage(w: ByteWriter, m: RaftWireMessage): void {
  w.u8(TYPE_CODES[m.type]).u32(m.from).u32(m.to).i64(m.term)
  switch (m.type) {
    case 'append':
      w.i64(m.index).i64(m.logTerm).i64(m.commit)
      return writeEntries(w, m.entries)
    case 'appendResponse':
      return void w.i64(m.index).bool(m.reject).i64(m.rejectHint).i64(m.logTerm)
    case 'vote':
    case 'preVote':
      return void w.i64(m.index).i64(m.logTerm)
    case 'voteResponse':
    case 'preVoteResponse':
      return void w.bool(m.reject)
    case 'heartbeat':
      w.i64(m.commit)
      return writeContext(w, m.context)
    case 'heartbeatResponse':
      return writeContext(w, m.context)
    case 'snapshot': {
      const { metadata, data } = m.snapshot
      w.i64(metadata.index).i64(metadata.term).u32(metadata.voters.length)
      for (const id of metadata.voters) w.u32(id)
      w.u32(metadata.learners.length)
      for (const id of metadata.learners) w.u32(id)
      return void w.bytes(data)
    }
    case 'propose':
      return writeEntries(w, m.entries)
    case 'readIndex':
      return void w.bytes(m.context)
    case 'readIndexResponse':
      return void w.i64(m.index).bytes(m.context)
  }
}

function nat(r: ByteReader, what: string): number {
  const v = r.i64()
  if (v < 0) throw new ProtocolError(`raft ${what} ${v} is negative`)
  return v
}

function nodeId(r: ByteReader, what: string): number {
  const v = r.u32()
  if (v === 0) throw new ProtocolError(`raft ${what} node id is 0`)
  return v
}

/** A copy, so a decoded message never pins the frame it came in. */
const copyBytes = (r: ByteReader) => new Uint8Array(r.bytes())

function readEntries(r: ByteReader): RaftWireEntry[] {
  const n = r.count(MIN_ENTRY_BYTES)
  const entries: RaftWireEntry[] = []
  for (let i = 0; i < n; i++) entries.push({ term: nat(r, 'entry term'), index: nat(r, 'entry index'), data: copyBytes(r) })
  return entries
}

function readContext(r: ByteReader): { context?: Uint8Array } {
  return r.bool() ? { context: copyBytes(r) } : {}
}

function readIds(r: ByteReader, what: string): number[] {
  const n = r.count(4)
  const ids: number[] = []
  for (let i = 0; i < n; i++) ids.push(nodeId(r, what))
  return ids
}

function readMessage(r: ByteReader): RaftWireMessage {
  const code = r.u8()
  const env = { from: nodeId(r, 'from'), to: nodeId(r, 'to'), term: nat(r, 'term') }
  switch (code) {
    case TYPE_CODES.append: {
      const index = nat(r, 'index')
      const logTerm = nat(r, 'logTerm')
      const commit = nat(r, 'commit')
      return { type: 'append', ...env, index, logTerm, commit, entries: readEntries(r) }
    }
    case TYPE_CODES.appendResponse:
      return { type: 'appendResponse', ...env, index: nat(r, 'index'), reject: r.bool(), rejectHint: nat(r, 'rejectHint'), logTerm: nat(r, 'logTerm') }
    case TYPE_CODES.vote:
    case TYPE_CODES.preVote:
      return { type: code === TYPE_CODES.vote ? 'vote' : 'preVote', ...env, index: nat(r, 'index'), logTerm: nat(r, 'logTerm') }
    case TYPE_CODES.voteResponse:
    case TYPE_CODES.preVoteResponse:
      return { type: code === TYPE_CODES.voteResponse ? 'voteResponse' : 'preVoteResponse', ...env, reject: r.bool() }
    case TYPE_CODES.heartbeat: {
      const commit = nat(r, 'commit')
      return { type: 'heartbeat', ...env, commit, ...readContext(r) }
    }
    case TYPE_CODES.heartbeatResponse:
      return { type: 'heartbeatResponse', ...env, ...readContext(r) }
    case TYPE_CODES.snapshot: {
      const index = nat(r, 'snapshot index')
      const term = nat(r, 'snapshot term')
      const voters = readIds(r, 'voter')
      const learners = readIds(r, 'learner')
      return { type: 'snapshot', ...env, snapshot: { metadata: { index, term, voters, learners }, data: copyBytes(r) } }
    }
    case TYPE_CODES.propose:
      return { type: 'propose', ...env, entries: readEntries(r) }
    case TYPE_CODES.readIndex:
      return { type: 'readIndex', ...env, context: copyBytes(r) }
    case TYPE_CODES.readIndexResponse: {
      const index = nat(r, 'index')
      return { type: 'readIndexResponse', ...env, index, context: copyBytes(r) }
    }
    default:
      throw new ProtocolError(`unknown raft message type ${code}`)
  }
}
